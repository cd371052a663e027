// Package storetest is the conformance suite of herald.Store: the one set of
// tests every storage engine (sqlite and postgres) must pass, so that
// the service and the hub can rely on the documented semantics of
// herald.Store, herald.Reader, herald.Tx and herald.Ledger whichever engine
// is wired in.
//
// An engine's test calls Run with a function that opens a fresh, empty store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) herald.Store {
//			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "herald.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite tests behaviour through the interfaces only; it knows no SQL
// and holds no engine-specific expectations. It is not a benchmark: timings
// belong elsewhere.
package storetest
