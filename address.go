package outbox

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Address is a mailbox: an optional display name and an addr-spec
// (local@domain). Internationalised addresses (RFC 6531) are allowed.
type Address struct {
	Name string `json:"name,omitempty"`
	Addr string `json:"email"`
}

// ParseAddress parses "Name <local@domain>" or "local@domain" and validates it.
func ParseAddress(s string) (Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return Address{}, fmt.Errorf("address %q contains a line break", s)
	}
	if name, addr, ok := splitSimple(s); ok {
		out := Address{Name: name, Addr: addr}
		return out, out.Validate()
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return Address{}, fmt.Errorf("invalid address %q: %v", s, trimMailErr(err))
	}
	out := Address{Name: a.Name, Addr: a.Address}
	return out, out.Validate()
}

// ParseAddressList parses a comma-separated list of addresses.
func ParseAddressList(s string) ([]Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("address list %q contains a line break", s)
	}
	list, err := mail.ParseAddressList(s)
	if err != nil {
		return nil, fmt.Errorf("invalid address list %q: %v", s, trimMailErr(err))
	}
	out := make([]Address, len(list))
	for i, a := range list {
		out[i] = Address{Name: a.Name, Addr: a.Address}
		if err := out[i].Validate(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func trimMailErr(err error) string { return strings.TrimPrefix(err.Error(), "mail: ") }

// Validate checks the addr-spec (RFC 5322 dot-atom or quoted local part,
// RFC 6531 UTF-8 allowed, a domain of valid labels or an address literal)
// and refuses line breaks anywhere.
func (a Address) Validate() error {
	if strings.ContainsAny(a.Name, "\r\n") {
		return fmt.Errorf("display name %q contains a line break", a.Name)
	}
	return ValidateAddr(a.Addr)
}

// ValidateAddr checks a bare addr-spec such as an SMTP envelope address.
func ValidateAddr(addr string) error {
	if addr == "" {
		return fmt.Errorf("empty address")
	}
	if !utf8.ValidString(addr) {
		return fmt.Errorf("address %q is not valid UTF-8", addr)
	}
	if strings.ContainsAny(addr, "\r\n\x00") {
		return fmt.Errorf("address %q contains a control character", addr)
	}
	if len(addr) > 254 {
		return fmt.Errorf("address %q is longer than 254 octets", addr)
	}
	if !isSimpleAddr(addr) {
		if err := validateAddrSpec(addr); err != nil {
			return err
		}
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 {
		return fmt.Errorf("invalid address %q: missing @domain", addr)
	}
	if at > 64 {
		return fmt.Errorf("invalid address %q: local part longer than 64 octets", addr)
	}
	return validateDomain(addr, addr[at+1:])
}

// validateAddrSpec checks addr's syntax with net/mail's parser: what
// isSimpleAddr does not recognise (quoted local parts, UTF-8, address
// literals), or is not an addr-spec.
func validateAddrSpec(addr string) error {
	parsed, err := mail.ParseAddress("<" + addr + ">")
	if err != nil || parsed.Address != addr && !strings.HasPrefix(addr, "\"") {
		var why string
		switch {
		case strings.Contains(addr, ","):
			why = "holds a comma: give each address separately"
		case strings.ContainsAny(addr, "<>"):
			why = "want the bare address, local@domain, without a name or angle brackets"
		case err == nil:
			why = "not an addr-spec"
		default:
			why = trimMailErr(err)
		}
		return fmt.Errorf("invalid address %q: %s", addr, why)
	}
	return nil
}

// addrSpec writes the address net/mail parsed, whose local part it gives
// unquoted ("john doe@example.com"), back as an addr-spec, quoted where
// needed (`"john doe"@example.com`).
func addrSpec(parsed string) string {
	if isSimpleAddr(parsed) {
		return parsed
	}
	s := (&mail.Address{Address: parsed}).String()
	return strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
}

func validateDomain(addr, d string) error {
	if strings.HasPrefix(d, "[") && strings.HasSuffix(d, "]") {
		return nil // address literal, checked by net/mail's parser
	}
	if len(d) > 253 {
		return fmt.Errorf("invalid address %q: domain longer than 253 octets", addr)
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("invalid address %q: bad domain label %q", addr, label)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("invalid address %q: domain label %q starts or ends with a hyphen", addr, label)
		}
		for _, r := range label {
			ok := r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= utf8.RuneSelf
			if !ok {
				return fmt.Errorf("invalid address %q: character %q in domain", addr, r)
			}
		}
	}
	return nil
}

// String formats the address for a header field: the display name is
// quoted or RFC 2047 encoded as needed.
func (a Address) String() string {
	if a.Name == "" {
		return a.Addr
	}
	return (&mail.Address{Name: a.Name, Address: a.Addr}).String()
}

// Domain returns the part after the last @.
func (a Address) Domain() string {
	return a.Addr[strings.LastIndexByte(a.Addr, '@')+1:]
}

// NeedsSMTPUTF8 reports whether the addr-spec has non-ASCII characters.
func (a Address) NeedsSMTPUTF8() bool { return !isASCII(a.Addr) }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// plainJSONString returns the text of b, a JSON string, when it needs no
// decoding: no escape, no control character, valid UTF-8. An address
// usually does, and a decoder of its own per address cost a tenth of the
// API's allocations.
func plainJSONString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	for _, c := range in {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// MarshalJSON writes the address as {"name": …, "email": …}.
func (a *Address) MarshalJSON() ([]byte, error) {
	type plain Address
	return json.Marshal((*plain)(a))
}

// UnmarshalJSON accepts "Name <local@domain>", "local@domain" or
// {"name": …, "email": …}. Validation happens at enqueue.
func (a *Address) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		s, ok := plainJSONString(b)
		if !ok {
			if err := json.Unmarshal(b, &s); err != nil {
				return err
			}
		}
		if name, addr, ok := splitSimple(s); ok {
			*a = Address{Name: name, Addr: addr}
			return nil
		}
		p, err := mail.ParseAddress(s)
		if err != nil {
			// Keep the raw text so that validation names it.
			*a = Address{Addr: s}
			return nil
		}
		*a = Address{Name: p.Name, Addr: addrSpec(p.Address)}
		return nil
	}
	type plain Address
	return json.Unmarshal(b, (*plain)(a))
}
