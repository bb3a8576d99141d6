package analysis

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/probes"
)

func probeSite(site string, suffixes []string) bool {
	for _, s := range suffixes {
		if strings.HasSuffix(site, s) {
			return true
		}
	}
	return false
}

// probeConcepts fits, for every concept defined at the site's rows, a cross-validated logistic
// probe and its Hewitt & Liang control task (types = the input token at the row), and a probe on
// shuffled labels.
// Each (site, concept) draws its folds, control labels and shuffle from its own stream, seeded by
// opt.Seed and the pair's name: the same at every checkpoint (the labelled rows are the same), so a
// probe curve changes only with the representation, and independent of which other sites or
// concepts are analysed.
func probeConcepts(out *metricOut, ci *cellInputs, step int64, site string, m *siteMatrix, opt Options) error {
	concepts := make([]string, 0, len(ci.labels))
	for c := range ci.labels {
		concepts = append(concepts, c)
	}
	slices.Sort(concepts)
	lo := opt.logistic()
	for _, concept := range concepts {
		lab := ci.labels[concept]
		var rows []int
		var y, types []int
		for i, k := range m.keys {
			if l, ok := lab[k]; ok {
				rows = append(rows, i)
				y = append(y, l)
				types = append(types, int(ci.tokens[k]))
			}
		}
		if len(rows) == 0 {
			continue // the concept is not defined at this site's positions
		}
		if len(rows) < opt.ProbeFolds {
			return fmt.Errorf("concept %s: %d labelled rows, too few for %d folds (capture more examples or lower --probe-folds)", concept, len(rows), opt.ProbeFolds)
		}
		x := mat.NewDense(len(rows), m.cols, nil)
		for j, i := range rows {
			x.SetRow(j, m.data[i*m.cols:(i+1)*m.cols])
		}
		classes := ci.classes[concept]
		h := fnv.New64a()
		h.Write([]byte(site + "\x00" + concept))
		rng := rand.New(rand.NewPCG(opt.Seed, h.Sum64()))
		folds, err := probes.KFold(len(rows), opt.ProbeFolds, rng)
		if err != nil {
			return fmt.Errorf("concept %s: %w", concept, err)
		}
		sel, err := probes.Selectivity(x, y, types, classes, folds, lo, rng)
		if err != nil {
			return fmt.Errorf("concept %s: %w", concept, err)
		}
		out.add(step, site, data.NA, data.NA, data.NA, concept, data.MetricProbeAccuracy, sel.Task.Accuracy)
		out.add(step, site, data.NA, data.NA, data.NA, concept, data.MetricProbeLogLoss, sel.Task.LogLoss)
		out.add(step, site, data.NA, data.NA, data.NA, concept, data.MetricProbeControlAccuracy, sel.Control.Accuracy)
		out.add(step, site, data.NA, data.NA, data.NA, concept, data.MetricProbeSelectivity, sel.Selectivity)
		shuf, err := probes.CrossValidateLogistic(x, probes.ShuffledLabels(y, rng), classes, folds, lo)
		if err != nil {
			return fmt.Errorf("concept %s shuffled: %w", concept, err)
		}
		out.add(step, site, data.NA, data.NA, data.NA, concept, data.MetricProbeShuffledAccuracy, shuf.Accuracy)
	}
	return nil
}
