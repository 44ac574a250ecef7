package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/escalated/escalated/internal/config"
	"github.com/escalated/escalated/internal/notify"
	"github.com/escalated/escalated/internal/notify/email"
	"github.com/escalated/escalated/internal/notify/slack"
	"github.com/escalated/escalated/internal/notify/webhook"
	"github.com/escalated/escalated/internal/store"
	"github.com/escalated/escalated/internal/ticket"
)

// newDispatcher builds the outbox dispatcher with every channel's sender, reading the channels
// of whatever policy is live when a delivery goes out.
func newDispatcher(cfg config.Config, st store.Store, tickets *ticket.Service, log *slog.Logger) (*notify.Dispatcher, error) {
	base := cfg.PublicBase()
	return notify.New(notify.Config{
		Store: st, Log: log,
		Channels: func() []notify.Channel {
			if l := tickets.Policy(); l != nil {
				return l.Channels
			}
			return nil
		},
		Senders: map[string]notify.Sender{
			notify.TypeWebhook: webhook.New(),
			notify.TypeSlack:   slack.New(base, nil),
			notify.TypeEmail: email.New(email.Settings{Addr: cfg.SMTP.Addr, From: cfg.SMTP.From,
				User: cfg.SMTP.User, Password: cfg.SMTP.Password}, base),
		},
	})
}

// StartDispatcher runs the outbox dispatcher until ctx is done or Shutdown. The policy must be
// live: serve warns here about email channels this node cannot send. Calling it again does
// nothing.
func (a *App) StartDispatcher(ctx context.Context) {
	if a.dispatcherDone != nil {
		return
	}
	if l := a.Tickets.Policy(); l != nil && !a.Config.SMTP.Configured() {
		for _, c := range l.Channels {
			if c.Type == notify.TypeEmail {
				a.Log.Warn("email channel without SMTP settings: its deliveries will fail until ESCALATED_SMTP_ADDR and ESCALATED_SMTP_FROM (or --smtp-addr and --smtp-from) are set",
					"channel", c.ID)
			}
		}
	}
	ctx, a.stopDispatcher = context.WithCancel(ctx)
	a.dispatcherDone = make(chan struct{})
	go func() {
		defer close(a.dispatcherDone)
		if err := a.Dispatcher.Run(ctx); err != nil {
			a.Log.Error("notification dispatcher stopped", "err", err)
		}
	}()
}

// waitDispatcher stops the dispatcher and waits for its loop and the sends in flight; an
// interrupted send releases its delivery to be sent again.
func (a *App) waitDispatcher() {
	if a.dispatcherDone == nil {
		return
	}
	a.stopDispatcher()
	select {
	case <-a.dispatcherDone:
	case <-time.After(30 * time.Second):
		a.Log.Warn("notification dispatcher did not stop within 30s; its leased deliveries are sent again later")
	}
}
