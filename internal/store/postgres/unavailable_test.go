package postgres

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/escalated/escalated"
)

// TestUnavailable: errors meaning the server cannot be reached become unavailable (503);
// everything else stays what it was.
func TestUnavailable(t *testing.T) {
	for _, err := range []error{
		&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"},
		&pgconn.PgError{Code: "57P03", Message: "the database system is starting up"},
		fmt.Errorf("begin write transaction: %w", &pgconn.PgError{Code: "08006"}),
		fmt.Errorf("begin read transaction: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}),
	} {
		if got := escalated.ErrorCode(unavailable(err)); got != escalated.EUNAVAILABLE {
			t.Errorf("unavailable(%v) has code %s, want unavailable", err, got)
		}
	}
	for _, err := range []error{
		nil,
		escalated.Invalid("subject", "is required"),
		escalated.Errorf(escalated.ECONFLICT, "changed meanwhile"),
		&pgconn.PgError{Code: "23505"},
		errors.New("some bug"),
	} {
		if got := unavailable(err); !errors.Is(got, err) && got != err {
			t.Errorf("unavailable(%v) = %v, want it unchanged", err, got)
		}
	}
}
