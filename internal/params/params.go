// Package params reads the query parameters of backend URLs and
// combinator expressions, where each parameter may be given once.
package params

import (
	"fmt"
	"net/url"
)

// Single returns each parameter of q with its one value. A parameter
// given more than once is an error naming it.
func Single(q url.Values) (map[string]string, error) {
	out := make(map[string]string, len(q))
	for name, values := range q {
		if len(values) > 1 {
			return nil, fmt.Errorf("parameter %s given %d times", name, len(values))
		}
		out[name] = values[0]
	}
	return out, nil
}
