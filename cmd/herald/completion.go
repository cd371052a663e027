package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// CompletionCmd is "completion": a script that asks the binary itself
// (herald __complete) for the commands and flags that fit, so it never
// goes stale.
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"The shell: bash, zsh or fish."`
}

const bashCompletion = `# herald completion for bash: source <(herald completion bash)
_herald() {
  local IFS=$'\n'
  COMPREPLY=($(herald __complete -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _herald herald
`

const zshCompletion = `# herald completion for zsh: herald completion zsh > "${fpath[1]}/_herald" (or source it)
autoload -U +X bashcompinit && bashcompinit
_herald() {
  local IFS=$'\n'
  COMPREPLY=($(herald __complete -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _herald herald
`

const fishCompletion = `# herald completion for fish: herald completion fish | source
complete -c herald -f -a '(herald __complete -- (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)'
`

// Run prints the script.
func (c *CompletionCmd) Run(g *Globals) error {
	script := map[string]string{"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion}[c.Shell]
	_, err := fmt.Fprint(g.stdout, script)
	return err
}

// CompleteCmd is the hidden "__complete" the scripts call: the words after
// "herald" with the one being typed last; it prints the candidates, one a
// line.
type CompleteCmd struct {
	Words []string `arg:"" optional:"" passthrough:"" help:"The words typed after herald, the current (possibly empty) last."`
}

// Run prints the commands or flags that complete the last word.
func (c *CompleteCmd) Run(g *Globals, kctx *kong.Context) error {
	words := c.Words
	if len(words) > 0 && words[0] == "--" {
		words = words[1:]
	}
	cur := ""
	if len(words) > 0 {
		cur, words = words[len(words)-1], words[:len(words)-1]
	}
	for _, cand := range complete(kctx.Model.Node, words, cur) {
		fmt.Fprintln(g.stdout, cand)
	}
	return nil
}

// complete returns what may follow words (a path of commands, flags and
// values) and starts with cur: subcommands, or with a leading "-" the
// flags of the command reached and of those above it.
func complete(root *kong.Node, words []string, cur string) []string {
	node, path := root, []*kong.Node{root}
	for _, w := range words {
		for _, child := range node.Children {
			if child.Type == kong.CommandNode && (child.Name == w || slices.Contains(child.Aliases, w)) {
				node = child
				path = append(path, child)
				break
			}
		}
	}
	var out []string
	if strings.HasPrefix(cur, "-") {
		for _, n := range path {
			for _, f := range n.Flags {
				if f.Hidden {
					continue
				}
				if name := "--" + f.Name; strings.HasPrefix(name, cur) {
					out = append(out, name)
				}
			}
		}
		return out
	}
	for _, child := range node.Children {
		if child.Type == kong.CommandNode && !child.Hidden && strings.HasPrefix(child.Name, cur) {
			out = append(out, child.Name)
		}
	}
	return out
}
