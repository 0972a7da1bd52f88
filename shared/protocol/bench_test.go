package protocol

import (
	"encoding/json"
	"testing"
)

func BenchmarkDecodeSend(b *testing.B) {
	data := Encode(examples()[TypeSend])
	lim := DefaultLimits()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data, lim); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeMessagePush(b *testing.B) {
	push := &MessagePush{Message: textMessage(), Cursor: "v1.AAABmqG3nQ8"}
	buf := AppendEncode(nil, push)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEncode(buf[:0], push)
	}
}

// BenchmarkEncodeMessagePushStdlib is the encoding/json baseline the hand
// encoder is measured against.
func BenchmarkEncodeMessagePushStdlib(b *testing.B) {
	push := &MessagePush{Message: textMessage(), Cursor: "v1.AAABmqG3nQ8"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(push); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeSyncPage(b *testing.B) {
	page := examples()[TypeSyncPage].(*SyncPage)
	for len(page.Messages) < 100 {
		page.Messages = append(page.Messages, textMessage(), photoMessage())
	}
	buf := AppendEncode(nil, page)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEncode(buf[:0], page)
	}
}
