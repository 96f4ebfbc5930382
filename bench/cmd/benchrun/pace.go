package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"
)

// httpRate sends the request at rate per second for d, evenly spaced and
// without waiting for answers (an open loop: a slow answer does not delay
// the next request), over keep-alive HTTP/1.1 connections. Each request is
// timed from when it is sent until its answer is read.
func (g *loadGen) httpRate(s httpSpec, rate int, d time.Duration) (loadResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true, ForceAttemptHTTP2: false}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	send := func() (int, time.Duration, error) {
		req, err := http.NewRequest(s.Method, s.URL, bytes.NewReader([]byte(s.Body)))
		if err != nil {
			return 0, 0, err
		}
		if s.Body == "" {
			req.Body, req.ContentLength = nil, 0
		}
		if s.ContentType != "" {
			req.Header.Set("Content-Type", s.ContentType)
		}
		for _, h := range s.Header {
			req.Header.Set(h[0], h[1])
		}
		t := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, time.Since(t), nil
	}
	// A few connections opened before the clock starts.
	for range 8 {
		if _, _, err := send(); err != nil {
			return loadResult{}, fmt.Errorf("pace: %v", err)
		}
	}
	n := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	lat := make([]float64, n)
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := time.Now().Add(10 * time.Millisecond)
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		wg.Go(func() {
			code, took, err := send()
			if err != nil {
				code = -1
			}
			codes[i], lat[i] = code, float64(took.Microseconds())/1000
		})
	}
	wg.Wait()
	r := loadResult{Requests: int64(n), Seconds: time.Since(start).Seconds()}
	r.RPS = float64(n) / d.Seconds()
	ok := lat[:0]
	for i, c := range codes {
		if c < 200 || c > 299 {
			r.Errors++
			continue
		}
		ok = append(ok, lat[i])
	}
	sort.Float64s(ok)
	r.P50ms, r.P99ms = percentile(ok, 0.50), percentile(ok, 0.99)
	return r, nil
}
