package cassandra

import (
	"slices"
	"time"

	"github.com/parleychat/parley/shared/ids"
)

// Partition sizes. A message's bucket is the 10-day window of its id's time
// (Discord's choice: a busy conversation's partition stays well below
// 100 MB); an inbox entry's day is the UTC day of its seq (ids.Epoch is a
// UTC midnight). Both count from ids.Epoch.
const (
	bucketSpan = 10 * 24 * time.Hour
	daySpan    = 24 * time.Hour
)

func bucketOf(id ids.ID) int32 { return int32(id.Time().Sub(ids.Epoch) / bucketSpan) }

func bucketStart(b int32) time.Time { return ids.Epoch.Add(time.Duration(b) * bucketSpan) }

func dayOf(id ids.ID) int32 { return int32(id.Time().Sub(ids.Epoch) / daySpan) }

// risingMicros is a write time (µs) that never falls as id rises: the id's
// millisecond plus its low 22 bits (node and sequence) scaled into that
// millisecond's 1000 µs. Writes of monotonic values carry it, so
// last-write-wins keeps the highest value whatever the arrival order. Two
// ids of one node in one millisecond may share a write time; Cassandra then
// keeps the larger cell value, which for an id column is again the higher.
func risingMicros(id ids.ID) int64 {
	const lowBits = 22
	return id.Time().UnixMicro() + (int64(id)&(1<<lowBits-1))*1000>>lowBits
}

// mirror is the point write times are reflected around: ids.Epoch, so a
// falling write time for any time after it lies in the past (never in the
// future, where it would shadow ordinary writes) until the year 2080.
var mirror = 2 * ids.Epoch.UnixMicro()

// fallingMicros is a write time that falls as t rises (per millisecond, the
// precision kept): with it the earliest time wins.
func fallingMicros(t time.Time) int64 { return mirror - t.UnixMilli()*1000 }

// millis truncates t to the millisecond Cassandra's timestamp type keeps.
func millis(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }

// byBucket groups distinct ids by message bucket, ids ascending.
func byBucket(msgIDs []ids.ID) map[int32][]int64 {
	sorted := slices.Clone(msgIDs)
	slices.Sort(sorted)
	out := map[int32][]int64{}
	for i, id := range sorted {
		if i > 0 && id == sorted[i-1] {
			continue
		}
		out[bucketOf(id)] = append(out[bucketOf(id)], int64(id))
	}
	return out
}
