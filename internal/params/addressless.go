package params

import (
	"fmt"
	"net/url"
)

// Addressless reads the URL of a backend that has no address, such as
// "console:" or "memory:?max=1000": it checks the scheme, refuses a host,
// user, path or opaque part (naming forms, the URLs to write instead), and
// returns the query parameters, each given once.
func Addressless(u *url.URL, scheme, forms string) (map[string]string, error) {
	if err := NoAddress(u, scheme, forms); err != nil {
		return nil, err
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return Single(q)
}

// NoAddress checks that u has the scheme and no host, user, path or
// opaque part, naming forms, the URLs to write instead.
func NoAddress(u *url.URL, scheme, forms string) error {
	if u.Scheme != scheme {
		return fmt.Errorf("scheme %q is not %s", u.Scheme, scheme)
	}
	if u.Opaque != "" || u.Host != "" || u.User != nil || u.Path != "" && u.Path != "/" {
		return fmt.Errorf("a %s URL has no address or path: write %s", scheme, forms)
	}
	return nil
}
