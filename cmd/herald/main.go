// Command herald is Herald's one binary: the server (herald serve) and the
// command-line client of its REST API. The client commands act either as
// the administrator (identity, token; --admin-key or HERALD_ADMIN_KEY) or as
// a user (thread, participant, message, receipt, typing; --token or
// HERALD_TOKEN). This is the only package that wires Herald's packages
// together.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/herald-chat/herald"
	"github.com/herald-chat/herald/bench"
	"github.com/herald-chat/herald/client"
)

// CLI is the command tree.
type CLI struct {
	Globals

	Serve       ServeCmd       `cmd:"" help:"Start the Herald server."`
	Identity    IdentityCmd    `cmd:"" help:"Create, show and delete identities (admin key)."`
	Token       TokenCmd       `cmd:"" help:"Issue and revoke access tokens (admin key)."`
	Key         KeyCmd         `cmd:"" help:"List and rotate the token signing keys (admin key)."`
	Webhook     WebhookCmd     `cmd:"" help:"Subscribe endpoints to thread events, and read their delivery log (admin key)."`
	Thread      ThreadCmd      `cmd:"" help:"Create, list, show, update and delete chat threads (access token)."`
	Participant ParticipantCmd `cmd:"" help:"Add, remove and list a thread's participants (access token)."`
	Message     MessageCmd     `cmd:"" help:"Send, list, show, edit and delete messages (access token)."`
	Receipt     ReceiptCmd     `cmd:"" help:"Send and list read receipts (access token)."`
	Typing      TypingCmd      `cmd:"" help:"Tell a thread that you are typing (access token)."`
	Listen      ListenCmd      `cmd:"" help:"Connect as a user and print live events."`
	Bench       BenchCmd       `cmd:"" help:"Load-test a running server: fan-out, throughput, idle connections, resume (admin key)."`
	Doctor      DoctorCmd      `cmd:"" help:"Explain why a message did or did not reach a user (admin key)."`
	Events      EventsCmd      `cmd:"" help:"Print an evidence table the doctor reads (admin key); -o csv too."`
	Demo        DemoCmd        `cmd:"" help:"Reproduce each failure of the delivery playbook on a server and show the doctor's diagnosis (admin key)."`
	Version     VersionCmd     `cmd:"" help:"Print the version of this binary."`
	Completion  CompletionCmd  `cmd:"" help:"Print a shell completion script: bash, zsh or fish."`
	Complete    CompleteCmd    `cmd:"" name:"__complete" hidden:"" help:"Complete a command line (for the completion scripts)."`
}

// Globals are the flags every command takes, and what the commands share:
// the context (cancelled by SIGINT or SIGTERM) and the output streams.
type Globals struct {
	URL         string           `name:"url" env:"HERALD_URL" default:"http://127.0.0.1:8080" group:"global" help:"Base URL of the Herald server."`
	AdminKey    string           `name:"admin-key" env:"HERALD_ADMIN_KEY" group:"global" help:"Admin key, for identity, token, key, doctor and events commands."`
	AccessToken string           `name:"token" env:"HERALD_TOKEN" group:"global" help:"Access token of the user to act as, for chat commands."`
	Output      string           `name:"output" short:"o" enum:"table,json,yaml,env" default:"table" group:"global" help:"Output format: table, json (the REST API's JSON), yaml (the same document) or env (shell assignments to eval); events also takes csv."`
	EnvPrefix   string           `name:"env-prefix" placeholder:"PREFIX" group:"global" help:"With -o env, start every variable name with this (ALICE_ gives ALICE_ID, ALICE_TOKEN)."`
	ShowVersion kong.VersionFlag `name:"version" group:"global" help:"Print the version and exit."`

	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
}

// Context returns the command's context; it is cancelled when the process
// is asked to stop.
func (g *Globals) Context() context.Context { return g.ctx }

// user returns a client acting as the user of the access token.
func (g *Globals) user() (*client.Client, error) {
	if g.AccessToken == "" {
		return nil, errors.New("no access token: set HERALD_TOKEN or pass --token (an admin issues one with: herald token issue USER --scopes chat)")
	}
	return client.New(g.URL, client.StaticToken(g.AccessToken), client.WithUserAgent(userAgent)), nil
}

// admin returns a client for the identity and token endpoints.
func (g *Globals) admin() (*client.Admin, error) {
	if g.AdminKey == "" {
		return nil, errors.New("no admin key: set HERALD_ADMIN_KEY or pass --admin-key")
	}
	return client.NewAdmin(g.URL, g.AdminKey, client.WithUserAgent(userAgent)), nil
}

const userAgent = "herald-cli"

// asUser runs call as the user and prints what it returns.
func asUser[T any](g *Globals, call func(context.Context, *client.Client) (T, error), table func(*table, T)) error {
	c, err := g.user()
	if err != nil {
		return err
	}
	v, err := call(g.ctx, c)
	if err != nil {
		return err
	}
	return emit(g, v, table)
}

// asAdmin runs call with the admin key and prints what it returns.
func asAdmin[T any](g *Globals, call func(context.Context, *client.Admin) (T, error), table func(*table, T)) error {
	c, err := g.admin()
	if err != nil {
		return err
	}
	v, err := call(g.ctx, c)
	if err != nil {
		return err
	}
	return emit(g, v, table)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exit is how kong's Exit (after --help) unwinds to run.
type exit int

// run parses args, runs the command and returns the process exit status:
// 0 on success, 1 when the command fails, 2 for a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	cli := CLI{Globals: Globals{ctx: ctx, stdout: stdout, stderr: stderr}}
	parser, err := kong.New(&cli,
		kong.Name("herald"),
		kong.Description("Herald is a self-hostable chat delivery service shaped like Azure Communication Services Chat."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exit(code)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Groups{"global": "Global flags (for the client commands; herald serve has its own):"},
		kong.Vars{"version": version()},
		kong.Help(helpWithExamples),
		// Built only when a bench command runs, after the flags are parsed.
		kong.BindToProvider(func() (*bench.Env, error) { return benchEnv(&cli.Globals), nil }),
	)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(exit)
			if !ok {
				panic(r)
			}
			code = int(e)
		}
	}()
	kctx, err := parser.Parse(args)
	if ctx := needsSubcommand(err); ctx != nil { // bare herald, herald identity, ...: the help, not an error
		ctx.PrintUsage(false)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\nRun \"herald --help\" for usage.\n", err)
		return 2
	}
	if err := yamlOffered(kctx.Command(), cli.Globals.Output); err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 2
	}
	if err := kctx.Run(&cli.Globals); err != nil {
		printError(stderr, explain(err, cli.Globals.URL))
		return 1
	}
	return 0
}

// yamlOffered refuses -o yaml for the commands whose output is not one
// document: listen prints a stream, bench and demo print reports of their own.
func yamlOffered(command, output string) error {
	if output != "yaml" {
		return nil
	}
	name, _, _ := strings.Cut(command, " ")
	switch name {
	case "listen":
		return errors.New("-o yaml is not offered by herald listen, which prints a stream: use -o json (one object a line)")
	case "bench", "demo":
		return fmt.Errorf("-o yaml is not offered by herald %s: use -o json", name)
	}
	return nil
}

// explain adds what to do to the errors a new user meets first.
func explain(err error, url string) error {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach Herald at %s (connection refused): is `herald serve` running there? Point the CLI elsewhere with --url or HERALD_URL", url)
	case errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("%w (is %s a Herald server? an https:// server needs an https:// --url)", err, url)
	}
	return err
}

// printError writes err for a person: a server's answer as
// "error: <status> <code>/<reason>: <message> (target: X)", anything else
// as "error: <err>".
func printError(w io.Writer, err error) {
	var he *herald.Error
	if !errors.As(err, &he) {
		fmt.Fprintf(w, "error: %v\n", err)
		return
	}
	fmt.Fprint(w, "error: ")
	if status := client.Status(err); status != 0 {
		fmt.Fprintf(w, "%d ", status)
	}
	fmt.Fprint(w, he.Code)
	if he.Reason != "" {
		fmt.Fprintf(w, "/%s", he.Reason)
	}
	fmt.Fprintf(w, ": %s", he.Message)
	if he.Target != "" {
		fmt.Fprintf(w, " (target: %s)", he.Target)
	}
	fmt.Fprintln(w)
}
