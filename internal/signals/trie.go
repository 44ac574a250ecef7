package signals

// automaton is an Aho-Corasick automaton whose alphabet is words rather than bytes: phrases are
// sequences of folded tokens, and one left-to-right pass over a message's tokens reports every
// phrase of every list that occurs, however many lists and phrases there are. Matching on
// tokens (not characters) is what gives whole-word semantics for free: "sue" is the token
// "sue" and never a piece of "issue".
//
// It is immutable after build, so one automaton serves concurrent callers.
type automaton struct {
	vocab map[string]int32 // token -> id; a token outside every phrase resets the match
	next  map[uint64]int32 // (state, token id) -> state: the trie's edges
	fail  []int32          // longest proper suffix state, the classic failure link
	out   [][]int32        // labels whose phrase ends here, including via failure links
	nodes int32            // number of states; state 0 is the root
}

func edge(state, tok int32) uint64 { return uint64(uint32(state))<<32 | uint64(uint32(tok)) }

func newAutomaton() *automaton {
	return &automaton{
		vocab: map[string]int32{},
		next:  map[uint64]int32{},
		fail:  []int32{0},
		out:   [][]int32{nil},
		nodes: 1,
	}
}

// add inserts a phrase (already folded and tokenised) with a label. Adding the same phrase
// under the same label twice is harmless.
func (a *automaton) add(phrase []string, label int32) {
	state := int32(0)
	for _, w := range phrase {
		id, ok := a.vocab[w]
		if !ok {
			id = int32(len(a.vocab))
			a.vocab[w] = id
		}
		k := edge(state, id)
		nxt, ok := a.next[k]
		if !ok {
			nxt = a.nodes
			a.nodes++
			a.next[k] = nxt
			a.fail = append(a.fail, 0)
			a.out = append(a.out, nil)
		}
		state = nxt
	}
	for _, l := range a.out[state] {
		if l == label {
			return
		}
	}
	a.out[state] = append(a.out[state], label)
}

// build computes failure links breadth-first and folds each state's failure chain outputs into
// its own, so matching never walks the chain to report: one lookup per token in the common case.
func (a *automaton) build() {
	// children lists per state, to walk breadth-first without scanning the whole edge map per
	// state.
	type child struct{ tok, state int32 }
	kids := make([][]child, a.nodes)
	for k, s := range a.next {
		from, tok := int32(k>>32), int32(uint32(k))
		kids[from] = append(kids[from], child{tok, s})
	}
	queue := make([]int32, 0, a.nodes)
	for _, c := range kids[0] {
		a.fail[c.state] = 0
		queue = append(queue, c.state)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, c := range kids[s] {
			f := a.fail[s]
			for {
				if t, ok := a.next[edge(f, c.tok)]; ok && t != c.state {
					a.fail[c.state] = t
					break
				}
				if f == 0 {
					a.fail[c.state] = 0
					break
				}
				f = a.fail[f]
			}
			// Breadth-first order guarantees the failure state's outputs are complete.
			for _, l := range a.out[a.fail[c.state]] {
				if !containsLabel(a.out[c.state], l) {
					a.out[c.state] = append(a.out[c.state], l)
				}
			}
			queue = append(queue, c.state)
		}
	}
}

func containsLabel(ls []int32, l int32) bool {
	for _, x := range ls {
		if x == l {
			return true
		}
	}
	return false
}

// step advances from state on token id (or on an unknown token when id < 0).
func (a *automaton) step(state, id int32) int32 {
	if id < 0 {
		return 0 // no phrase contains this token, so no match can span it
	}
	for {
		if t, ok := a.next[edge(state, id)]; ok {
			return t
		}
		if state == 0 {
			return 0
		}
		state = a.fail[state]
	}
}
