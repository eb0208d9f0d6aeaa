// What a Go program asks of the kernel, one part per line of output (the same on any GOARCH): threads made
// with clone for the runtime's Ms, futex sleeps and wakes, the GC's stop-the-world, async preemption by SIGURG
// sent to a thread spinning without calls (tgkill), the vDSO's clock_gettime, epoll-driven TCP (an HTTP server
// and clients over loopback), os/exec (clone(CLONE_VFORK|CLONE_VM), pipes, wait4), signal.Notify, and pipes.
// Built GOARCH=386 for the guest and GOARCH=amd64 for the host; both must print the same.
package main

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A loop with no calls in it: only an asynchronous preemption (SIGURG) lets another goroutine onto its thread.
func spin(stop *int32) uint32 {
	var x uint32 = 1
	for atomic.LoadInt32(stop) == 0 {
		for i := 0; i < 1000; i++ {
			x = x*1664525 + 1013904223
		}
	}
	return x
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		fmt.Println("child says hello")
		os.Exit(5)
	}
	runtime.GOMAXPROCS(4)

	// Goroutines, a mutex, a channel.
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	ch := make(chan int, 16)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s := 0
			for i := 0; i < 200000; i++ {
				s += i % (w + 1)
			}
			mu.Lock()
			total += s
			mu.Unlock()
			ch <- w
		}(w)
	}
	go func() { wg.Wait(); close(ch) }()
	var got []int
	for w := range ch {
		got = append(got, w)
	}
	sort.Ints(got)
	fmt.Println("workers", got, "total", total)

	// Maps, formatting, hashing, 64-bit arithmetic.
	m := map[string]int{}
	for i := 0; i < 10000; i++ {
		m[fmt.Sprintf("k%d", i%777)]++
	}
	h := sha256.Sum256([]byte(strings.Repeat("compat32", 1000)))
	var x uint64 = 0x9e3779b97f4a7c15
	for i := uint64(1); i < 100000; i++ {
		x = (x<<7 | x>>57) ^ (x / i)
	}
	fmt.Printf("keys %d sha %x u64 %016x %.6g\n", len(m), h[:8], x, float64(x)/3.0)

	// The GC under allocation from many goroutines.
	debug.SetGCPercent(10)
	var sum int64
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var keep [][]byte
			for i := 0; i < 20000; i++ {
				b := make([]byte, 64+i%512)
				b[0] = byte(i)
				keep = append(keep, b)
				if len(keep) > 100 {
					keep = keep[50:]
				}
				atomic.AddInt64(&sum, int64(b[0]))
			}
		}(g)
	}
	wg.Wait()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Println("gc: sum", sum, "collected", ms.NumGC > 0)
	debug.SetGCPercent(100)

	// Asynchronous preemption: on one P, main runs again only if the spinning goroutine is preempted.
	runtime.GOMAXPROCS(1)
	var stop int32
	done := make(chan uint32)
	go func() { done <- spin(&stop) }()
	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	atomic.StoreInt32(&stop, 1)
	<-done
	fmt.Println("preempted; slept", time.Since(start) >= 20*time.Millisecond)
	runtime.GOMAXPROCS(4)

	// TCP over loopback: an HTTP server and eight clients.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.URL.Path)
	})}
	go srv.Serve(ln)
	var okc int32
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for k := 0; k < 10; k++ {
				resp, err := http.Get(fmt.Sprintf("http://%s/p%d", ln.Addr(), c))
				if err != nil {
					fmt.Println("get:", err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) == fmt.Sprintf("hello /p%d", c) {
					atomic.AddInt32(&okc, 1)
				}
			}
		}(c)
	}
	wg.Wait()
	srv.Close()
	fmt.Println("http: answered", okc)

	// os/exec: itself, then a shell.
	out, err := exec.Command(os.Args[0], "child").Output()
	fmt.Printf("exec: %q %v\n", out, err)
	o2, err := exec.Command("/bin/sh", "-c", "echo from-sh; exit 7").Output()
	fmt.Printf("sh: %q %v\n", strings.TrimSpace(string(o2)), err)

	// A signal to ourselves, caught through signal.Notify.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	select {
	case s := <-sig:
		fmt.Println("signal:", s)
	case <-time.After(5 * time.Second):
		fmt.Println("signal: timeout")
	}

	// A pipe between goroutines.
	r, w, _ := os.Pipe()
	go func() {
		bw := bufio.NewWriter(w)
		for i := 0; i < 10000; i++ {
			fmt.Fprintf(bw, "line %d\n", i)
		}
		bw.Flush()
		w.Close()
	}()
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
	}
	fmt.Println("pipe lines:", n)
	os.Exit(3)
}
