package outbox_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/memory"
	"github.com/outboxmail/outbox/sqlite"
)

// Embed Outbox in a Go program: a SQLite store, an engine delivering
// through a backend, and a client to enqueue with.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "outbox-example-")
	defer os.RemoveAll(dir)

	store, err := sqlite.Open(ctx, sqlite.Config{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	mem := memory.New(memory.Config{}) // use backend/smtp for real mail
	engine, err := outbox.NewEngine(outbox.EngineConfig{
		Store:    store,
		Backends: func(string) (outbox.Backend, error) { return mem, nil },
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	client, err := outbox.NewClient(outbox.ClientConfig{Store: store, Notify: engine.Notify, Handoff: engine})
	if err != nil {
		log.Fatal(err)
	}
	engine.Start(ctx)
	defer engine.Stop(ctx)

	// Enqueue returns once the message is durably committed.
	receipt, err := client.Enqueue(ctx, &outbox.Message{
		From:    outbox.Address{Name: "Helpdesk", Addr: "help@example.com"},
		To:      []outbox.Address{{Addr: "customer@example.net"}},
		Subject: "Ticket #42 created",
		Text:    "We got your request and will answer soon.",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("status at enqueue:", receipt.Status)

	delivered, err := mem.WaitFor(ctx, 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("delivered to:", delivered[0].To)
	fmt.Println("same Message-ID:", delivered[0].MessageID == receipt.MessageID)
	// Output:
	// status at enqueue: queued
	// delivered to: [customer@example.net]
	// same Message-ID: true
}
