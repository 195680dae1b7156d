package align

import (
	"fmt"
	"sort"

	"github.com/lsalign/lsalign/internal/rng"
)

// sampleDrawer draws (doc, end, l1, l2) tuples group by group, so only the
// current group is live whatever the number of samples. The eligible end
// positions are, in every document of n tokens, end = l_max .. n (exclusive
// index), so both suffixes fit inside the document whatever l1 and l2 are
// drawn; end is uniform over all of them, then l1 and l2 are drawn
// independently. Successive draws continue one generator, so the samples
// do not depend on how they are grouped.
type sampleDrawer struct {
	cum    []int // cum[d] counts the eligible ends in docs[:d+1]
	total  int   // eligible ends in all documents
	lo, hi int   // suffix length range
	r      *rng.RNG
}

func newSampleDrawer(docs [][]int32, o MetricOptions) (*sampleDrawer, error) {
	lo, hi := o.lengthRange()
	d := &sampleDrawer{cum: make([]int, len(docs)), lo: lo, hi: hi, r: rng.New(o.Seed)}
	longest := 0
	for i, doc := range docs {
		d.total += max(0, len(doc)-hi+1)
		d.cum[i] = d.total
		longest = max(longest, len(doc))
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("misalignment: no documents")
	}
	if d.total == 0 {
		return nil, fmt.Errorf("misalignment: text too short: the longest document has %d tokens, suffixes need up to %d (l_train %d)",
			longest, hi, o.LTrain)
	}
	return d, nil
}

// draw fills dst with the next len(dst) samples (Value left zero).
func (d *sampleDrawer) draw(dst []MetricSample) {
	for i := range dst {
		k := d.r.Intn(d.total)
		doc := sort.SearchInts(d.cum, k+1) // first document whose count exceeds k
		before := 0
		if doc > 0 {
			before = d.cum[doc-1]
		}
		dst[i] = MetricSample{
			Doc: doc,
			End: d.hi + (k - before),
			L1:  d.r.IntRange(d.lo, d.hi),
			L2:  d.r.IntRange(d.lo, d.hi),
		}
	}
}
