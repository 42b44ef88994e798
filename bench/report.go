package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a run.
type Report struct {
	Date    time.Time `json:"date"`
	Command string    `json:"command"`
	Machine Machine   `json:"machine"`
	Speed   Speed     `json:"speed"`
	Config  Config    `json:"config"`
	Results []Result  `json:"results"`
	// PeakRSS is the outbox process's peak resident set over the run.
	PeakRSS int64 `json:"peak_rss_bytes"`
	// Ratios are Outbox/peer figures, when a peer was measured.
	Ratios  map[string]float64 `json:"ratios,omitempty"`
	Targets []Target           `json:"targets"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	MemTotal string `json:"mem_total"`
	OS       string `json:"os"`
	Go       string `json:"go"`
}

// Target is one of the figures Outbox holds itself to, and what the run
// measured of it.
type Target struct {
	Name     string  `json:"name"`
	Want     string  `json:"want"`
	Measured float64 `json:"measured"`
	Unit     string  `json:"unit"`
	Met      bool    `json:"met"`
}

// newReport starts the report of a run.
func newReport(cfg Config) *Report {
	return &Report{
		Date:    time.Now().UTC(),
		Command: strings.Join(append([]string{"go run ./bench"}, os.Args[1:]...), " "),
		Machine: machine(),
		Config:  cfg,
	}
}

// machine reads the CPU model and memory from /proc.
func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				m.MemTotal = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// find returns the first result of a phase and target.
func (r *Report) find(phase, target string, queued int) *Result {
	for i := range r.Results {
		x := &r.Results[i]
		if x.Phase == phase && x.Target == target && (queued < 0 || x.Queued == queued) {
			return x
		}
	}
	return nil
}

// finish computes the ratios and checks the targets.
func (r *Report) finish() {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	add := func(name, want, unit string, v float64, met bool) {
		r.Targets = append(r.Targets, Target{Name: name, Want: want, Measured: v, Unit: unit, Met: met})
	}
	if x := r.find("http-single", "outbox", -1); x != nil && x.Rate > 0 {
		add(fmt.Sprintf("HTTP enqueue, %d clients, 1 message/request", r.Config.Clients), "≥ 10,000", "msg/s", x.Rate, x.Rate >= 10000)
	}
	if x := r.find("http-paced", "outbox", -1); x != nil && x.Latency != nil {
		add(fmt.Sprintf("HTTP enqueue p99 at %d msg/s offered", r.Config.PacedRate), "≤ 5", "ms", ms(x.Latency.P99), x.Latency.P99 <= 5*time.Millisecond)
	}
	if x := r.find("http-batch", "outbox", -1); x != nil && x.Rate > 0 {
		add(fmt.Sprintf("HTTP enqueue, batches of %d", r.Config.BatchSize), "≥ 50,000", "msg/s", x.Rate, x.Rate >= 50000)
	}
	o, p := r.find("smtp", "outbox", -1), r.find("smtp", "peer", -1)
	if o != nil && p != nil && o.Rate > 0 && p.Rate > 0 {
		r.Ratios = map[string]float64{"smtp_acceptance": o.Rate / p.Rate}
		add(fmt.Sprintf("SMTP acceptance, %d sessions, Outbox/peer", r.Config.Sessions), "≥ 3", "×", o.Rate/p.Rate, o.Rate/p.Rate >= 3)
		if o.E2E != nil && p.E2E != nil && p.E2E.Rate > 0 {
			v := o.E2E.Rate / p.E2E.Rate
			r.Ratios["end_to_end"] = v
			add("End-to-end to a loopback sink, Outbox/peer", "≥ 5", "×", v, v >= 5)
		}
	}
	base, big := r.find("delivery", "outbox", BaseBacklog), r.find("delivery", "outbox", r.Config.Backlog)
	if base != nil && big != nil && big != base && base.E2E != nil && big.E2E != nil && base.E2E.Rate > 0 {
		v := big.E2E.Rate / base.E2E.Rate
		add(fmt.Sprintf("Delivery with %d queued vs %d queued", big.Queued, base.Queued), "within 20 %", "ratio", v, v >= 0.8 && v <= 1.2)
		// The peak while the backlog was queued: its fill and its
		// delivery.
		peak := big.PeakRSS
		if fill := r.find("backlog-fill", "outbox", big.Queued); fill != nil {
			peak = max(peak, fill.PeakRSS)
		}
		if peak > 0 {
			mb := float64(peak) / (1 << 20)
			add(fmt.Sprintf("RSS with %d queued", big.Queued), "≤ 200", "MiB", mb, mb <= 200)
		}
	}
}

// writeJSON writes the report as indented JSON.
func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// writeTable writes the report for people.
func (r *Report) writeTable(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\nOutbox bench, %s\n", r.Date.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "command: %s\n", r.Command)
	fmt.Fprintf(w, "machine: %d CPUs (%s), %s RAM, %s, %s\n", m.CPUs, m.CPUModel, m.MemTotal, m.OS, m.Go)
	fmt.Fprintf(w, "speed: a 1 KB message rendered in %s at the start, %s at the end\n\n",
		micro(r.Speed.RenderStart), micro(r.Speed.RenderEnd))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\ttarget\tqueued\tmessages\terrors\tmsg/s\tp50\tp99\tmax\te2e msg/s\te2e p50\te2e p99\te2e max\tdups\tpeak RSS\tcpu/msg\tbench cpu/msg\t")
	for _, x := range r.Results {
		if x.Note != "" && x.Messages == 0 {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t%s\n", x.Phase, x.Target, x.Note)
			continue
		}
		row := []string{x.Phase, x.Target, count(x.Queued), count(x.Messages), count(x.Errors)}
		if x.Latency != nil {
			row = append(row, count(int(x.Rate+0.5)), dur(x.Latency.P50), dur(x.Latency.P99), dur(x.Latency.Max))
		} else {
			row = append(row, "-", "-", "-", "-")
		}
		if e := x.E2E; e != nil {
			row = append(row, count(int(e.Rate+0.5)), dur(e.Latency.P50), dur(e.Latency.P99), dur(e.Latency.Max), count(e.Duplicates))
		} else {
			row = append(row, "-", "-", "-", "-", "-")
		}
		rss := "-"
		if x.PeakRSS > 0 {
			rss = fmt.Sprintf("%.0f MiB", float64(x.PeakRSS)/(1<<20))
			if x.PeakRSSSinceStart {
				rss += "*"
			}
		}
		row = append(row, rss, micros(x.CPUPerMessage), micros(x.BenchCPUPerMessage))
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
	fmt.Fprintf(w, "\npeak RSS of outbox serve over the run: %.0f MiB\n", float64(r.PeakRSS)/(1<<20))
	for _, x := range r.Results {
		if x.Note != "" && x.Messages > 0 {
			fmt.Fprintf(w, "note (%s, %s): %s\n", x.Phase, x.Target, x.Note)
		}
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(w, "\ntargets:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, t := range r.Targets {
			verdict := "MISS"
			if t.Met {
				verdict = "met"
			}
			fmt.Fprintf(tw, "  %s\t%s %s\tmeasured %s %s\t%s\n", t.Name, t.Want, t.Unit, number(t.Measured), t.Unit, verdict)
		}
		tw.Flush()
	}
}

// count formats an integer with thousands separators.
func count(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// number formats a measured figure: integers above 100, else 2 decimals.
func number(v float64) string {
	if v >= 100 {
		return count(int(v + 0.5))
	}
	return fmt.Sprintf("%.2f", v)
}

// micros formats a CPU time per message, in microseconds; "-" when not
// measured.
func micros(us float64) string {
	if us <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f µs", us)
}

// micro formats a short time in microseconds.
func micro(d time.Duration) string {
	return fmt.Sprintf("%.2f µs", float64(d)/float64(time.Microsecond))
}

// dur formats a latency in milliseconds.
func dur(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0fms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1fms", ms)
	default:
		return fmt.Sprintf("%.2fms", ms)
	}
}
