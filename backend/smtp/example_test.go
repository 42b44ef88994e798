package smtp_test

import (
	"context"
	"fmt"
	"log"
	"net/url"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/smtp"
)

// A backend for a submission server that requires STARTTLS and a login.
// The "@" in the user name is percent-encoded.
func ExampleFromURL() {
	u, err := url.Parse("smtp://app%40example.com:s3cret@smtp.example.com:587?tls=starttls&max_conns=2")
	if err != nil {
		log.Fatal(err)
	}
	b, err := smtp.FromURL(u) // does not connect yet
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	fmt.Println(b)
	// Output: smtp://app%40example.com@smtp.example.com:587?tls=starttls
}

// Sending one message and reading the outcome per recipient.
func ExampleBackend_Send() {
	b, err := smtp.New(smtp.Config{Host: "127.0.0.1", Port: 1025, TLS: smtp.TLSNone})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	res, err := b.Send(context.Background(), &outbox.Envelope{
		From: "app@example.com",
		To:   []string{"user@example.org"},
		Data: []byte("From: app@example.com\r\nTo: user@example.org\r\nSubject: hi\r\n\r\nHello.\r\n"),
	})
	if err != nil {
		class, reply := outbox.ErrorClass(err) // the whole transaction failed
		log.Printf("not sent (%s): %s", class, reply)
		return
	}
	for _, r := range res {
		log.Printf("%s: %s %s", r.Addr, r.Class, r.Reply)
	}
}
