package video

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
)

// WebhookEvent is the body of the publish webhook.
type WebhookEvent struct {
	Event          string    `json:"event"`
	VideoID        string    `json:"video_id"`
	Version        int       `json:"version"`
	CatalogVersion string    `json:"catalog_version"`
	Items          int       `json:"items"` // items shown to viewers
	PublishedAt    time.Time `json:"published_at"`
}

// Webhook headers.
const (
	HeaderSignature = "X-Vitrine-Signature"
	HeaderTimestamp = "X-Vitrine-Timestamp"
	HeaderEvent     = "X-Vitrine-Event"
)

// Sign returns the signature header value of a webhook body sent at ts:
// "sha256=" + hex(HMAC-SHA256(secret, ts + "." + body)).
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks a webhook signature in constant time.
func VerifySignature(secret []byte, ts string, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(sig))
}

// publish marks the latest document published and the video ready, then
// notifies the webhook when one is configured. A webhook that keeps failing
// is recorded but does not unpublish the video.
func (s *Service) publish(ctx context.Context, sc *jobs.StepContext) error {
	// Verification is over: the frames the detect step kept for it go.
	if err := s.keptFramesOf(sc.Subject).remove(); err != nil {
		s.log.WarnContext(ctx, "publish: kept frames not removed", "video", sc.Subject, "err", err)
	}
	db := s.deps.DB
	var ev WebhookEvent
	var items sql.NullString
	err := db.Read.QueryRowContext(ctx, db.Rebind(`SELECT version, catalog_version, doc FROM shoppable_docs WHERE video_id = ? ORDER BY version DESC LIMIT 1`), sc.Subject).
		Scan(&ev.Version, &ev.CatalogVersion, &items)
	if err != nil {
		return fmt.Errorf("load document: %w", err)
	}
	var doc struct {
		Items []shoppable.Item `json:"items"`
	}
	if err := json.Unmarshal([]byte(items.String), &doc); err != nil {
		return fmt.Errorf("load document: %w", err)
	}
	shown := 0
	for _, it := range doc.Items {
		if it.Shown() {
			shown++
		}
	}
	ev.Event, ev.VideoID, ev.Items, ev.PublishedAt = "video.published", sc.Subject, shown, s.now().Truncate(time.Second)
	var delivery *deliveryResult
	if s.cfg.WebhookURL != "" {
		d := s.deliver(ctx, ev)
		delivery = &d
		if d.err != nil {
			sc.Log("webhook delivery failed", "url", s.cfg.WebhookURL, "attempts", d.attempts, "err", d.err.Error())
		}
	}
	sc.OnCommit(func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		if _, err := tx.ExecContext(ctx, db.Rebind(`UPDATE shoppable_docs SET published_at = ? WHERE video_id = ? AND version = ?`), now, sc.Subject, ev.Version); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.Rebind(`UPDATE videos SET state = ?, error = '', doc_version = ?, ready_at = ?, updated_at = ? WHERE id = ?`),
			StateReady, ev.Version, now, now, sc.Subject); err != nil {
			return err
		}
		if delivery == nil {
			return nil
		}
		var at any
		msg := ""
		if delivery.err == nil {
			at = now
		} else {
			msg = delivery.err.Error()
		}
		_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO video_webhook_deliveries(video_id, version, url, attempts, status, error, delivered_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			sc.Subject, ev.Version, s.cfg.WebhookURL, delivery.attempts, delivery.status, msg, at, now)
		return err
	})
	return nil
}

type deliveryResult struct {
	attempts, status int
	err              error
}

// deliver POSTs the signed event, retrying network errors, 429 and 5xx
// with exponential backoff.
func (s *Service) deliver(ctx context.Context, ev WebhookEvent) deliveryResult {
	body, err := json.Marshal(ev)
	if err != nil {
		return deliveryResult{err: err}
	}
	var res deliveryResult
	wait := s.cfg.WebhookBackoff
	for res.attempts < s.cfg.WebhookAttempts {
		res.attempts++
		ts := strconv.FormatInt(s.now().Unix(), 10)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.WebhookURL, bytes.NewReader(body))
		if err != nil {
			res.err = fmt.Errorf("webhook: %w", err)
			return res
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderEvent, ev.Event)
		req.Header.Set(HeaderSignature, Sign([]byte(s.cfg.WebhookSecret), ts, body))
		resp, err := s.deps.HTTP.Do(req)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			res.status = resp.StatusCode
			switch {
			case resp.StatusCode >= 200 && resp.StatusCode < 300:
				res.err = nil
				return res
			case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
				res.err = fmt.Errorf("webhook: status %d", resp.StatusCode)
			default:
				res.err = fmt.Errorf("webhook: status %d (not retried)", resp.StatusCode)
				return res
			}
		} else {
			res.err = fmt.Errorf("webhook: %w", err)
		}
		if res.attempts == s.cfg.WebhookAttempts {
			break
		}
		select {
		case <-ctx.Done():
			res.err = errors.Join(res.err, ctx.Err())
			return res
		case <-time.After(wait):
		}
		wait *= 2
	}
	return res
}
