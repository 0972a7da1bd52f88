package http_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	gohttp "net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// The benchmarks compare mediasvc (over HTTP, httptest, real MinIO) with
// minio-go talking to the same MinIO directly. Run them with
//
//	go test -run '^$' -bench . -benchtime 20x ./mediasvc/internal/delivery/http/
//
// and see mediasvc/BENCHMARKS.md for results.

var benchSizes = []struct {
	name string
	n    int
}{{"1MiB", 1 << 20}, {"20MiB", 20 << 20}}

// distinct returns data with the iteration number stamped in, so no two
// uploads share content (dedup would otherwise skip work minio-go does).
func distinct(data []byte, i int) []byte {
	binary.BigEndian.PutUint64(data[16:], uint64(i)+uint64(time.Now().UnixNano()))
	return data
}

func BenchmarkUpload(b *testing.B) {
	for _, size := range benchSizes {
		data := zipLike(size.n)
		// mediasvc with the embedded metadata store (the default), and with
		// Cassandra, to see what the production metadata store costs.
		for _, variant := range []struct{ name, backend string }{{"mediasvc", minIO}, {"mediasvc-cassandra", full}} {
			b.Run(size.name+"/"+variant.name, func(b *testing.B) {
				e := newEnv(b, withBackend(variant.backend))
				u := newUser()
				b.SetBytes(int64(size.n))
				b.ResetTimer()
				for i := range b.N {
					r := e.call("POST", "", as(u), raw(distinct(data, i)))
					if r.status != 201 {
						b.Fatalf("upload: %d %s", r.status, r.raw)
					}
				}
			})
		}
		b.Run(size.name+"/minio-go", func(b *testing.B) {
			e := newEnv(b, withBackend(minIO))
			client, bucket := e.s3.Client(), e.s3.Bucket()
			if err := e.objects.Ping(context.Background()); err != nil { // creates the bucket
				b.Fatal(err)
			}
			b.SetBytes(int64(size.n))
			b.ResetTimer()
			for i := range b.N {
				_, err := client.PutObject(context.Background(), bucket, "direct/"+strconv.Itoa(i), bytes.NewReader(distinct(data, i)),
					int64(size.n), minio.PutObjectOptions{ContentType: "application/zip"})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDownload(b *testing.B) {
	for _, size := range benchSizes {
		data := zipLike(size.n)
		for _, mode := range []string{"mediasvc-redirect", "mediasvc-proxy"} {
			b.Run(size.name+"/"+mode, func(b *testing.B) {
				opts := []option{withBackend(minIO)}
				if mode == "mediasvc-proxy" {
					opts = append(opts, withoutRedirect())
				}
				e := newEnv(b, opts...)
				u := newUser()
				id := e.upload(u, data, "")
				b.SetBytes(int64(size.n))
				b.ResetTimer()
				for range b.N {
					n := e.download(u, id)
					if n != int64(size.n) {
						b.Fatalf("downloaded %d bytes", n)
					}
				}
			})
		}
		b.Run(size.name+"/minio-go", func(b *testing.B) {
			e := newEnv(b, withBackend(minIO))
			u := newUser()
			id := e.upload(u, data, "")
			client, bucket := e.s3.Client(), e.s3.Bucket()
			b.SetBytes(int64(size.n))
			b.ResetTimer()
			for range b.N {
				obj, err := client.GetObject(context.Background(), bucket, "o/"+id, minio.GetObjectOptions{})
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, obj)
				obj.Close()
				if err != nil || n != int64(size.n) {
					b.Fatalf("read %d, %v", n, err)
				}
			}
		})
	}
}

// download reads media content the way a client does (following the
// redirect to S3, or reading the proxied stream) without buffering it.
func (e *env) download(u user, id string) int64 {
	req, _ := gohttp.NewRequest("GET", e.srv.URL+"/internal/v1/media/"+id+"/content", nil)
	as(u)(&request{header: req.Header})
	resp, err := e.gateway.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode == gohttp.StatusFound {
		// Drained, so the connection to mediasvc is reused as a client's
		// would be; an unread body closes it.
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp, err = gohttp.Get(resp.Header.Get("Location")); err != nil {
			e.t.Fatal(err)
		}
	}
	defer resp.Body.Close()
	n, _ := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		e.t.Fatalf("download: %d", resp.StatusCode)
	}
	return n
}

// generated yields n pseudo-random bytes that sniff as a zip, made on the
// fly: the client side holds no copy of the upload either.
type generated struct {
	left int64
	rng  *rand.ChaCha8
	head bool
}

func newGenerated(n int64) *generated {
	return &generated{left: n, rng: rand.NewChaCha8([32]byte{1})}
}

func (g *generated) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	_, _ = g.rng.Read(p)
	if !g.head {
		g.head = true
		copy(p, "PK\x03\x04")
	}
	g.left -= int64(len(p))
	return len(p), nil
}

// peakRSS resets the kernel's high-water mark and returns a function that
// reads it (Linux: /proc/self/clear_refs, VmHWM), in MiB; -1 elsewhere.
func peakRSS() func() float64 {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return func() float64 { return -1 }
	}
	return func() float64 {
		status, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return -1
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				return kb / 1024
			}
		}
		return -1
	}
}

// heapSampler records the largest HeapInuse seen while it runs.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > h.peak.Load() {
				h.peak.Store(ms.HeapInuse)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) done() float64 {
	close(h.stop)
	h.wg.Wait()
	return float64(h.peak.Load()) / (1 << 20)
}

// BenchmarkStreamedUploadMemory uploads 20 MiB and 200 MiB generated on
// the fly, with a declared length (one streaming PUT to S3) and chunked (the
// multipart path, 16 MiB parts), and reports the peak heap in use and the
// peak RSS of the whole test process (client, mediasvc, minio-go) during the
// uploads: they stay flat as the size grows tenfold.
func BenchmarkStreamedUploadMemory(b *testing.B) {
	for _, mode := range []string{"length", "chunked"} {
		for _, mib := range []int64{20, 200} {
			b.Run(fmt.Sprintf("%s/%dMiB", mode, mib), func(b *testing.B) {
				e := newEnv(b, withBackend(minIO), withLimits("application/zip=256MiB"))
				u := newUser()
				size := mib << 20
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				rss := peakRSS()
				heap := sampleHeap()
				b.SetBytes(size)
				b.ResetTimer()
				for range b.N {
					req, _ := gohttp.NewRequest("POST", e.srv.URL+"/internal/v1/media", newGenerated(size))
					req.ContentLength = -1
					if mode == "length" {
						req.ContentLength = size
					}
					as(u)(&request{header: req.Header})
					resp, err := e.gateway.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 201 {
						b.Fatalf("upload: %d %s", resp.StatusCode, body)
					}
				}
				b.StopTimer()
				b.ReportMetric(heap.done(), "peak-heap-MiB")
				b.ReportMetric(float64(before.HeapInuse)/(1<<20), "start-heap-MiB")
				b.ReportMetric(rss(), "peak-rss-MiB")
			})
		}
	}
}

// pairs times two ways of doing the same thing in alternation, so load
// from other processes on the machine hits both alike, and reports each
// one's time and throughput and mediasvc's overhead. It also counts this
// process's CPU time (user + system) in each: client, mediasvc and
// minio-go all run here, so the difference is what mediasvc adds on the
// machine (MinIO's own CPU is not counted).
type pairs struct {
	b                *testing.B
	size             int64
	ours, base       time.Duration
	oursCPU, baseCPU time.Duration
}

func (p *pairs) time(d *time.Duration, fn func()) {
	cpu := &p.oursCPU
	if d == &p.base {
		cpu = &p.baseCPU
	}
	startCPU := processCPU()
	start := time.Now()
	fn()
	*d += time.Since(start)
	*cpu += processCPU() - startCPU
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (p *pairs) report() {
	n := float64(p.b.N)
	p.b.ReportMetric(0, "ns/op")
	p.b.ReportMetric(float64(p.ours.Microseconds())/n/1000, "mediasvc-ms/op")
	p.b.ReportMetric(float64(p.base.Microseconds())/n/1000, "minio-go-ms/op")
	p.b.ReportMetric(float64(p.size)*n/p.ours.Seconds()/1e6, "mediasvc-MB/s")
	p.b.ReportMetric(float64(p.size)*n/p.base.Seconds()/1e6, "minio-go-MB/s")
	p.b.ReportMetric((p.ours.Seconds()/p.base.Seconds()-1)*100, "overhead-%")
	p.b.ReportMetric(float64(p.oursCPU.Microseconds())/n/1000, "mediasvc-cpu-ms/op")
	p.b.ReportMetric(float64(p.baseCPU.Microseconds())/n/1000, "minio-go-cpu-ms/op")
}

// BenchmarkUploadPaired alternates an upload through mediasvc (embedded
// metadata, MinIO) with a minio-go PutObject of the same size.
func BenchmarkUploadPaired(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			data := zipLike(size.n)
			e := newEnv(b, withBackend(minIO))
			u := newUser()
			client, bucket := e.s3.Client(), e.s3.Bucket()
			p := &pairs{b: b, size: int64(size.n)}
			b.ResetTimer()
			for i := range b.N {
				p.time(&p.ours, func() {
					if r := e.call("POST", "", as(u), raw(distinct(data, i))); r.status != 201 {
						b.Fatalf("upload: %d %s", r.status, r.raw)
					}
				})
				p.time(&p.base, func() {
					_, err := client.PutObject(context.Background(), bucket, "direct/"+strconv.Itoa(i), bytes.NewReader(distinct(data, i)),
						int64(size.n), minio.PutObjectOptions{ContentType: "application/zip"})
					if err != nil {
						b.Fatal(err)
					}
				})
			}
			p.report()
		})
	}
}

// BenchmarkDownloadPaired alternates a download through mediasvc (302 to a
// presigned URL, or proxied) with a minio-go GetObject of the same object.
func BenchmarkDownloadPaired(b *testing.B) {
	for _, size := range benchSizes {
		for _, mode := range []string{"redirect", "proxy"} {
			b.Run(size.name+"/"+mode, func(b *testing.B) {
				opts := []option{withBackend(minIO)}
				if mode == "proxy" {
					opts = append(opts, withoutRedirect())
				}
				e := newEnv(b, opts...)
				u := newUser()
				id := e.upload(u, zipLike(size.n), "")
				client, bucket := e.s3.Client(), e.s3.Bucket()
				p := &pairs{b: b, size: int64(size.n)}
				b.ResetTimer()
				for range b.N {
					p.time(&p.ours, func() {
						if n := e.download(u, id); n != int64(size.n) {
							b.Fatalf("downloaded %d bytes", n)
						}
					})
					p.time(&p.base, func() {
						obj, err := client.GetObject(context.Background(), bucket, "o/"+id, minio.GetObjectOptions{})
						if err != nil {
							b.Fatal(err)
						}
						n, err := io.Copy(io.Discard, obj)
						obj.Close()
						if err != nil || n != int64(size.n) {
							b.Fatalf("read %d, %v", n, err)
						}
					})
				}
				p.report()
			})
		}
	}
}
