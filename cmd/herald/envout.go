package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/herald-chat/herald/wire"
)

// writeEnv writes v as shell assignments to eval: the ids and tokens of
// the answers a walkthrough needs under short names (ID, TOKEN, THREAD,
// MESSAGE…), anything else flattened from its JSON (chatThread.id becomes
// CHAT_THREAD_ID). Values are single-quoted, so nothing in them is run.
func writeEnv(w io.Writer, prefix string, v any) error {
	if prefix != "" && !envName.MatchString(prefix) {
		return fmt.Errorf("--env-prefix %q: want letters, digits and _ (a shell variable name)", prefix)
	}
	vars := map[string]string{}
	switch x := v.(type) {
	case *wire.CreateIdentityResponse:
		vars["ID"] = x.Identity.ID
		if x.AccessToken != nil {
			vars["TOKEN"], vars["EXPIRES_ON"] = x.AccessToken.Token, x.AccessToken.ExpiresOn.Format(time.RFC3339)
		}
	case *wire.AccessToken:
		vars["TOKEN"], vars["EXPIRES_ON"] = x.Token, x.ExpiresOn.Format(time.RFC3339)
	case *wire.CreateThreadResponse:
		vars["THREAD"], vars["TOPIC"] = x.ChatThread.ID, x.ChatThread.Topic
	case *wire.SendMessageResponse:
		vars["MESSAGE"], vars["SEQUENCE"] = x.ID, x.SequenceID
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var tree any
		if err := json.Unmarshal(b, &tree); err != nil {
			return err
		}
		flatten(vars, "", tree)
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range vars {
			if !yield(k) {
				return
			}
		}
	}) {
		if _, err := fmt.Fprintf(w, "%s%s=%s\n", prefix, k, shellQuote(vars[k])); err != nil {
			return err
		}
	}
	return nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// flatten names every scalar of a JSON tree by its path.
func flatten(vars map[string]string, path string, v any) {
	join := func(name string) string {
		if path == "" {
			return name
		}
		return path + "_" + name
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flatten(vars, join(snake(k)), e)
		}
	case []any:
		for i, e := range x {
			flatten(vars, join(fmt.Sprint(i)), e)
		}
	case nil:
	default:
		if path == "" {
			path = "VALUE"
		}
		vars[path] = strings.TrimSuffix(fmt.Sprint(x), "\n")
	}
}

// snake turns chatThreadId into CHAT_THREAD_ID.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte('_')
		}
		if r == '-' || r == '.' {
			r = '_'
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
