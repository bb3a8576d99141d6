package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/phaseprobe/phaseprobe/train"
)

// exportFormats are the formats export writes.
var exportFormats = []string{"transformerlens"}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	fset := newFlagSet(stderr, "export", "CELL_DIR --step N --format transformerlens [--out DIR]   (CELL_DIR is runs/<sweep>/cells/<cell>)")
	stepFlag := fset.String("step", "", "the checkpoint step to export (required; an integer ≥ 0)")
	format := fset.String("format", "", "output format (required): transformerlens = safetensors weights with HookedTransformer state-dict names + HookedTransformerConfig JSON (docs/transformerlens.md)")
	out := fset.String("out", "", "output folder (default CELL_DIR/export/transformerlens-step-<N, 8 digits>)")
	if err := parseFlags(fset, reorder(fset, args)); err != nil {
		return err
	}
	if fset.NArg() != 1 {
		return usagef("want exactly one cell folder (runs/<sweep>/cells/<cell>), got %d arguments", fset.NArg())
	}
	dir := fset.Arg(0)
	switch *format {
	case "transformerlens":
	case "":
		return usagef("--format is required: want one of %s", strings.Join(exportFormats, ", "))
	default:
		return usagef("--format %q: want one of %s", *format, strings.Join(exportFormats, ", "))
	}
	if err := checkFolder("cell folder", dir); err != nil {
		return err
	}
	if *stepFlag == "" {
		return missingStep(dir)
	}
	step, err := strconv.Atoi(*stepFlag)
	if err != nil || step < 0 {
		return usagef("--step %q: want a checkpoint step, an integer ≥ 0", *stepFlag)
	}
	if *out == "" {
		*out = train.DefaultExportDir(dir, step)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ex, err := train.ExportTransformerLens(dir, step, *out)
	var nc *train.NoCheckpointError
	if errors.As(err, &nc) || errors.Is(err, train.ErrNotCell) {
		return usageError{err.Error()}
	}
	if err != nil {
		return err
	}
	log.Info("exported", "cell", ex.Cell, "step", ex.Step, "format", *format, "tensors", ex.Tensors)
	fmt.Fprintln(stdout, ex.WeightsPath)
	fmt.Fprintln(stdout, ex.ConfigPath)
	return nil
}

// missingStep is the usage error of an export without --step: it names the steps that have
// checkpoint weights (an export of step -1, which no cell has, refuses with them).
func missingStep(dir string) error {
	_, err := train.ExportTransformerLens(dir, -1, "")
	var nc *train.NoCheckpointError
	switch {
	case errors.As(err, &nc) && len(nc.Have) == 0:
		return usagef("--step is required, but %s has no checkpoints to export", dir)
	case errors.As(err, &nc):
		have := make([]string, len(nc.Have))
		for i, s := range nc.Have {
			have[i] = strconv.Itoa(s)
		}
		return usagef("--step is required: %s has checkpoint weights at steps %s", dir, strings.Join(have, ", "))
	case errors.Is(err, train.ErrNotCell):
		return usageError{err.Error()}
	}
	return usagef("--step is required")
}
