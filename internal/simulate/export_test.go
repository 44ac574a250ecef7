package simulate

// SetSignalsAhead turns the computing of signals ahead on or off, for the test that holds a
// replay with them to one without; it returns how it was.
func SetSignalsAhead(on bool) bool {
	was := !aheadOff
	aheadOff = !on
	return was
}
