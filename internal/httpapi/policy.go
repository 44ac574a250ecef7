package httpapi

import (
	"errors"
	"io"
	"net/http"

	"github.com/escalated/escalated"
	"github.com/escalated/escalated/internal/ticket"
)

// readDocument reads a raw (YAML) request body of at most ticket.MaxPolicySize bytes.
func readDocument(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	src, err := io.ReadAll(http.MaxBytesReader(w, r.Body, ticket.MaxPolicySize))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, bodyTooLarge(r, "policy", ticket.MaxPolicySize)
	} else if err != nil {
		return nil, escalated.Errorf(escalated.EINVALID, "reading request body: %v", err)
	}
	if len(src) == 0 {
		return nil, escalated.Errorf(escalated.EINVALID, "request body is empty; send the policy YAML document")
	}
	return src, nil
}

func (s *Server) checkPolicy(w http.ResponseWriter, r *http.Request) {
	src, err := readDocument(w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out, _, err := s.cfg.Tickets.CheckPolicy(r.Context(), "policy.yaml", src)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

type putPolicyOut struct {
	policyOut
	Warnings []ticket.PolicyProblem `json:"warnings"`
}

func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request) {
	src, err := readDocument(w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	live, problems, err := s.cfg.Tickets.ReplacePolicy(r.Context(), src)
	if err != nil {
		s.error(w, r, err)
		return
	}
	text := string(live.Policy.Source)
	writeJSON(w, http.StatusOK, putPolicyOut{
		policyOut: policyOut{Version: live.Version, Hash: live.Policy.Hash, Summary: live.Policy.Summary(), Source: &text},
		Warnings:  problems.Warnings,
	})
}

type versionOut struct {
	Version   int64  `json:"version"`
	Hash      string `json:"hash"`
	Actor     string `json:"actor"`
	CreatedAt string `json:"created_at"`
	Live      bool   `json:"live"`
}

func (s *Server) policyVersions(w http.ResponseWriter, r *http.Request) {
	versions, err := s.cfg.Tickets.PolicyVersions(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	live := s.cfg.Tickets.Policy()
	out := make([]versionOut, len(versions))
	for i, v := range versions {
		out[i] = versionOut{Version: v.Version, Hash: v.Hash, Actor: v.Actor, CreatedAt: escalated.FormatTime(v.CreatedAt),
			Live: live != nil && live.Version == v.Version}
	}
	writeJSON(w, http.StatusOK, list[versionOut]{Items: out})
}

func (s *Server) explain(w http.ResponseWriter, r *http.Request) {
	d, err := s.cfg.Tickets.Explain(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}
