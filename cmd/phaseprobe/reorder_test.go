package main

import (
	"flag"
	"reflect"
	"testing"
)

// TestReorder: which flags take the next argument comes from the subcommand's own flag set, so a
// boolean flag before the spec (plan's --no-timing) leaves the spec positional, and a flag that is
// boolean in another subcommand (sweep has no --json) still takes its value.
func TestReorder(t *testing.T) {
	plan := flag.NewFlagSet("plan", flag.ContinueOnError)
	plan.Bool("no-timing", false, "")
	plan.Bool("slurm", false, "")
	plan.String("out", "runs", "")
	sweep := flag.NewFlagSet("sweep", flag.ContinueOnError)
	sweep.String("json", "", "")
	for _, c := range []struct {
		fs   *flag.FlagSet
		args []string
		want []string
	}{
		{plan, []string{"--no-timing", "spec.yaml", "--out", "x"}, []string{"--no-timing", "--out", "x", "spec.yaml"}},
		{plan, []string{"spec.yaml", "--slurm", "--out=x"}, []string{"--slurm", "--out=x", "spec.yaml"}},
		{plan, []string{"-h", "spec.yaml"}, []string{"-h", "spec.yaml"}},
		{plan, []string{"--out", "x", "--", "-odd.yaml"}, []string{"--out", "x", "-odd.yaml"}},
		{sweep, []string{"--json", "v", "spec.yaml"}, []string{"--json", "v", "spec.yaml"}},
	} {
		if got := reorder(c.fs, c.args); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: reorder(%q) = %q, want %q", c.fs.Name(), c.args, got, c.want)
		}
	}
}
