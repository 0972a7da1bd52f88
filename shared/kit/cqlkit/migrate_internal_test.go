package cqlkit

import (
	"fmt"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"
)

func TestSchemaStatementsAreRetriedOnlyAfterTransientErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{gocql.ErrTimeoutNoResponse, true},
		{fmt.Errorf("wrapped: %w", &gocql.RequestErrWriteTimeout{}), true},
		{&gocql.RequestErrUnavailable{}, true},
		{&gocql.RequestErrSyntax{}, false},
		{fmt.Errorf("wrapped: %w", &gocql.RequestErrInvalid{}), false},
		{&gocql.RequestErrAlreadyExists{}, false},
	} {
		if got := transientDDLError(tc.err); got != tc.want {
			t.Errorf("transientDDLError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
