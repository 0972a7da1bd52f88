package usecase

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parleychat/parley/shared/errs"
	"github.com/parleychat/parley/shared/ids"
	"github.com/parleychat/parley/shared/messageapi"
)

// recordingSink stands in for messagesvc: it records each batch and fails
// items or whole calls on demand.
type recordingSink struct {
	mu       sync.Mutex
	batches  [][]messageapi.ReceiptItem
	failItem func(messageapi.ReceiptItem) error
	failAll  error
}

func (s *recordingSink) Record(_ context.Context, items []messageapi.ReceiptItem) ([]error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, items)
	if s.failAll != nil {
		return nil, s.failAll
	}
	out := make([]error, len(items))
	for i, it := range items {
		if s.failItem != nil {
			out[i] = s.failItem(it)
		}
	}
	return out, nil
}

func received(user ids.ID, device string, msgs ...ids.ID) messageapi.ReceiptItem {
	return messageapi.ReceiptItem{Kind: messageapi.KindReceived, UserID: user, DeviceID: device, ConversationID: "d:1:2", MessageIDs: msgs}
}

func read(user ids.ID, device string, upTo ids.ID) messageapi.ReceiptItem {
	return messageapi.ReceiptItem{Kind: messageapi.KindRead, UserID: user, DeviceID: device, ConversationID: "d:1:2", UpTo: upTo}
}

func submitAll(t *testing.T, c *Coalescer, items ...messageapi.ReceiptItem) []error {
	t.Helper()
	out := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = c.Submit(context.Background(), it)
		}()
	}
	wg.Wait()
	return out
}

func TestConcurrentAcksAreRecordedInOneBatchAndMerged(t *testing.T) {
	sink := &recordingSink{}
	c := New(sink, 50*time.Millisecond, 100, time.Second, prometheus.NewRegistry())
	errsOut := submitAll(t, c,
		received(1, "phone", 10), received(1, "phone", 11, 10), received(2, "web", 10),
		read(1, "phone", 10), read(1, "laptop", 12), read(1, "phone", 11))
	for i, err := range errsOut {
		if err != nil {
			t.Fatalf("submit %d: %v", i, err)
		}
	}
	if len(sink.batches) != 1 {
		t.Fatalf("%d batches, want 1", len(sink.batches))
	}
	batch := sink.batches[0]
	if len(batch) != 3 {
		t.Fatalf("batch has %d items, want 3 (phone received, web received, user 1 read): %+v", len(batch), batch)
	}
	for _, it := range batch {
		switch {
		case it.Kind == messageapi.KindRead && (it.UpTo != 12 || it.DeviceID != "laptop"):
			t.Errorf("merged read = %+v, want up_to 12 from laptop", it)
		case it.Kind == messageapi.KindReceived && it.DeviceID == "phone" && len(it.MessageIDs) != 2:
			t.Errorf("merged received = %+v, want ids 10 and 11 once each", it)
		}
	}
}

func TestMaxBatchFlushesWithoutWaitingForTheWindow(t *testing.T) {
	sink := &recordingSink{}
	c := New(sink, time.Hour, 2, time.Second, prometheus.NewRegistry())
	done := make(chan []error)
	go func() { done <- submitAll(t, c, received(1, "a", 1), received(2, "b", 1)) }()
	select {
	case errsOut := <-done:
		if errsOut[0] != nil || errsOut[1] != nil {
			t.Fatal(errsOut)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a full batch waited for the (hour-long) window")
	}
}

func TestItemErrorsReachTheirOwnSubmitters(t *testing.T) {
	sink := &recordingSink{failItem: func(it messageapi.ReceiptItem) error {
		if it.UserID == 2 {
			return errs.New(errs.NotFound, "not in conversation")
		}
		return nil
	}}
	c := New(sink, 20*time.Millisecond, 100, time.Second, prometheus.NewRegistry())
	errsOut := submitAll(t, c, received(1, "a", 1), received(2, "b", 1))
	if errsOut[0] != nil || !errs.Is(errsOut[1], errs.NotFound) {
		t.Fatalf("errors = %v", errsOut)
	}
}

func TestSinkFailureFailsEveryWaiterRetryably(t *testing.T) {
	sink := &recordingSink{failAll: errs.New(errs.Unavailable, "messagesvc down")}
	c := New(sink, 10*time.Millisecond, 100, time.Second, prometheus.NewRegistry())
	for i, err := range submitAll(t, c, received(1, "a", 1), read(1, "a", 5)) {
		if !errs.CodeOf(err).Retryable() {
			t.Errorf("submit %d: %v, want retryable", i, err)
		}
	}
}

func TestSubmitGivesUpWhenItsContextEnds(t *testing.T) {
	block := make(chan struct{})
	sink := &blockingSink{release: block}
	c := New(sink, time.Millisecond, 100, time.Second, prometheus.NewRegistry())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := c.Submit(ctx, received(1, "a", 1))
	close(block)
	if !errs.Is(err, errs.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline_exceeded", err)
	}
}

type blockingSink struct{ release chan struct{} }

func (s *blockingSink) Record(context.Context, []messageapi.ReceiptItem) ([]error, error) {
	<-s.release
	return nil, errors.New("released")
}
