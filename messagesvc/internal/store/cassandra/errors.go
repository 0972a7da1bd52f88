package cassandra

import (
	"context"
	"errors"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/parleychat/parley/shared/errs"
)

// storeErr turns a driver error into the store contract's *errs.Error:
// timeouts are DeadlineExceeded, anything that may pass on retry
// (no connection, replicas down or overloaded, a cancelled call) is
// Unavailable; both are retryable. A request Cassandra rejects as malformed
// or unauthorized is a bug or a misconfiguration, so Internal.
func storeErr(what string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	return errs.Wrap(err, errorCode(err), "message store: "+what+" failed")
}

func errorCode(err error) errs.Code {
	var reqErr gocql.RequestError
	var marshal gocql.MarshalError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, gocql.ErrTimeoutNoResponse):
		return errs.DeadlineExceeded
	case errors.As(err, &marshal), errors.Is(err, gocql.ErrQueryArgLength):
		return errs.Internal
	case errors.As(err, &reqErr):
		switch reqErr.Code() {
		case gocql.ErrCodeWriteTimeout, gocql.ErrCodeReadTimeout, gocql.ErrCodeCASWriteUnknown:
			return errs.DeadlineExceeded
		case gocql.ErrCodeSyntax, gocql.ErrCodeInvalid, gocql.ErrCodeUnauthorized, gocql.ErrCodeConfig,
			gocql.ErrCodeCredentials, gocql.ErrCodeProtocol:
			return errs.Internal
		}
	}
	return errs.Unavailable
}
