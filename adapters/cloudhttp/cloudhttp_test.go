package cloudhttp_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/cloudhttp"
	"github.com/truecost/truecost/adapters/cloudhttp/cloudhttptest"
	"github.com/truecost/truecost/domain"
)

func TestCallToASilentServerFailsUnavailableAtTheDeadline(t *testing.T) {
	t.Parallel()
	url := cloudhttptest.SilentServer(t)
	client := cloudhttp.Timeouts{Call: 200 * time.Millisecond}.Client()
	start := time.Now()
	resp, err := client.Get(url + "/token")
	took := time.Since(start)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a server that never answers gave a response")
	}
	if took > 2*time.Second {
		t.Errorf("the call took %s, want about the 200ms deadline", took)
	}
	if domain.ErrorCode(err) != domain.Unavailable || !errors.Is(err, cloudhttp.ErrTimeout) {
		t.Errorf("error %v (code %s), want unavailable and ErrTimeout", err, domain.ErrorCode(err))
	}
	if msg := domain.ErrorMessage(err); msg != "127.0.0.1:"+url[len("http://127.0.0.1:"):]+" did not answer within 200ms" {
		t.Errorf("message %q", msg)
	}
}

func TestStreamingReadFailsOnlyWhenTheBodyStalls(t *testing.T) {
	t.Parallel()
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := w.(http.Flusher)
		// A slow stream: longer in all than the call deadline, never
		// pausing longer than the idle deadline.
		for range 6 {
			_, _ = w.Write([]byte("chunk\n"))
			f.Flush()
			time.Sleep(100 * time.Millisecond)
		}
		if r.URL.Path == "/stall" {
			<-stall
		}
	}))
	t.Cleanup(func() { close(stall); srv.Close() })
	client := cloudhttp.Timeouts{Call: 250 * time.Millisecond, Idle: 400 * time.Millisecond}.Client()

	resp, err := client.Get(srv.URL + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(b) != 36 {
		t.Errorf("slow stream read %d bytes, %v; want all 36", len(b), err)
	}

	resp, err = client.Get(srv.URL + "/stall")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if domain.ErrorCode(err) != domain.Unavailable || !errors.Is(err, cloudhttp.ErrTimeout) {
		t.Errorf("stalled stream: %v (code %s), want unavailable and ErrTimeout", err, domain.ErrorCode(err))
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the stalled read took %s, want about the idle deadline", took)
	}
}
