package smtpd

import (
	"net/netip"
	"testing"
	"time"
)

func TestAppendReceived(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("", 3600))
	for _, tc := range []struct {
		tr   trace
		want string
	}{{
		trace{Helo: "app.example.com", Remote: netip.MustParseAddr("192.0.2.1"), Hostname: "mx.example.org", ID: "0123456789abcdef", Time: at},
		"Received: from app.example.com ([192.0.2.1])\r\n\tby mx.example.org (Outbox) with ESMTP id 0123456789abcdef;\r\n\tWed, 04 Mar 2026 05:06:07 +0100\r\n",
	}, {
		trace{Helo: "[2001:db8::1]", Remote: netip.MustParseAddr("2001:db8::1"), Hostname: "h", TLS: true, Auth: true, ID: "x", Time: at},
		"Received: from [2001:db8::1] ([IPv6:2001:db8::1])\r\n\tby h (Outbox) with ESMTPSA id x;\r\n\tWed, 04 Mar 2026 05:06:07 +0100\r\n",
	}, {
		trace{Helo: "bad (name);\\é", Remote: netip.MustParseAddr("::ffff:127.0.0.1"), Hostname: "h", Auth: true, ID: "x", Time: at},
		"Received: from bad??name????? ([127.0.0.1])\r\n\tby h (Outbox) with ESMTPA id x;\r\n\tWed, 04 Mar 2026 05:06:07 +0100\r\n",
	}, {
		trace{Hostname: "h", TLS: true, ID: "x", Time: at},
		"Received: from unknown (unknown)\r\n\tby h (Outbox) with ESMTPS id x;\r\n\tWed, 04 Mar 2026 05:06:07 +0100\r\n",
	}} {
		if got := string(appendReceived(nil, tc.tr)); got != tc.want {
			t.Errorf("got\n%q\nwant\n%q", got, tc.want)
		}
	}
}
