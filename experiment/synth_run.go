package experiment

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"time"
)

// SynthResult is what a study produced, in the order of Options.Combos.
type SynthResult struct {
	Options  SynthOptions    `json:"options"`
	Rows     []SynthRow      `json:"rows"`     // every combination × test length
	Training []SynthTraining `json:"training"` // one per combination
	Seconds  float64         `json:"seconds"`  // wall time of the whole study
}

// SynthProgress is called after each finished combination with the number
// done so far; calls never overlap.
type SynthProgress func(done, total int, t SynthTraining)

// RunSynth trains and evaluates every combination. Combinations run on a
// pool of Workers goroutines, each holding one model at a time, so memory
// depends on the worker count, not on the size of the grid. The result does
// not depend on the worker count or on scheduling. On the first error or
// when ctx is cancelled the remaining work is abandoned.
func RunSynth(ctx context.Context, o SynthOptions, progress SynthProgress) (*SynthResult, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	t0 := time.Now()
	combos := o.Combos()
	workers := o.workerCount(len(combos))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows := make([][]SynthRow, len(combos))
	training := make([]SynthTraining, len(combos))
	next := make(chan int)
	var (
		mu       sync.Mutex
		firstErr error
		done     int
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r, t, err := runSynthCombo(ctx, o, combos[i])
				if err != nil {
					fail(err)
					continue
				}
				rows[i], training[i] = r, t
				mu.Lock()
				done++
				if progress != nil {
					progress(done, len(combos), t)
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range combos {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &SynthResult{Options: o, Rows: slices.Concat(rows...), Training: training,
		Seconds: time.Since(t0).Seconds()}, nil
}

// workerCount is how many of n combinations train at once: Workers, or
// GOMAXPROCS when it is 0, and never more than n.
func (o SynthOptions) workerCount(n int) int {
	w := o.Workers
	if w == 0 {
		w = runtime.GOMAXPROCS(0)
	}
	return min(w, n)
}

// runSynthCombo trains one combination and evaluates it.
func runSynthCombo(ctx context.Context, o SynthOptions, c SynthCombo) ([]SynthRow, SynthTraining, error) {
	t0 := time.Now()
	m, t, err := trainSynth(ctx, o, c)
	if err != nil {
		return nil, SynthTraining{}, err
	}
	rows, capped, err := evalSynth(o, c, m)
	t.Capped, t.Seconds = capped, time.Since(t0).Seconds()
	return rows, t, err
}
