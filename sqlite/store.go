package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outboxmail/outbox"

	// The pure-Go SQLite driver, registered as "sqlite".
	_ "modernc.org/sqlite"
)

// dbName is the database file inside the data directory.
const dbName = "outbox.db"

// Config configures a Store. The zero value of every field but Dir works.
type Config struct {
	// Dir is the data directory, created if missing. Required.
	Dir string
	// BusyTimeout is how long a connection waits for a lock held by
	// another connection (default 5s).
	BusyTimeout time.Duration
	// ReadConns is the size of the read-only connection pool (default 4).
	ReadConns int
	// MaxGroup caps the number of write requests committed together
	// (default 1000), bounding the latency a crowd adds to one write.
	MaxGroup int
	// Now is the clock for the times a store sets itself: orphaned
	// messages returned to the queue at Open, and unset times of enqueued
	// records. Nil means time.Now.
	Now func() time.Time
}

// withDefaults returns c with its zero fields set, or an error naming the
// field that is wrong.
func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, errors.New("sqlite: Config.Dir is required")
	}
	if c.BusyTimeout < 0 || c.ReadConns < 0 || c.MaxGroup < 0 {
		return c, errors.New("sqlite: Config.BusyTimeout, ReadConns and MaxGroup must not be negative")
	}
	if c.BusyTimeout == 0 {
		c.BusyTimeout = 5 * time.Second
	}
	if c.ReadConns == 0 {
		c.ReadConns = 4
	}
	if c.MaxGroup == 0 {
		c.MaxGroup = 1000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// Store is an outbox.Store in one SQLite database. It is safe for
// concurrent use; only one Store (in any process) can hold a data
// directory at a time.
type Store struct {
	dir  string
	lock *dirLock
	// wdb holds the write connection, rdb the read pool, cdb the
	// checkpointer's connection.
	wdb, rdb, cdb *sql.DB
	w             *writer
	recovered     int
	now           func() time.Time

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ outbox.Store = (*Store)(nil)

// Open opens (or creates) the store in cfg.Dir: it locks the directory
// (ErrLocked if another process holds it) and applies the schema
// migrations. Claims are held in memory (see leases.go), so the messages a
// previous process was delivering are stored as before their claim, and
// due; any an older version stored sending go back in the queue, due at
// once (see Recovered).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create data directory: %w", err)
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s := &Store{dir: cfg.Dir, lock: lock, now: cfg.Now}
	if err := s.open(ctx, cfg); err != nil {
		s.shutdown()
		return nil, fmt.Errorf("sqlite: open %s: %w", filepath.Join(cfg.Dir, dbName), err)
	}
	return s, nil
}

// open connects, migrates, starts the writer and recovers orphans.
func (s *Store) open(ctx context.Context, cfg Config) error {
	path, err := filepath.Abs(filepath.Join(cfg.Dir, dbName))
	if err != nil {
		return err
	}
	busy := strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10)
	// The driver applies _pragma before _journal_mode, so a new database
	// gets 16 KiB pages before it turns to WAL (where the page size is
	// fixed): a quarter of the write calls per commit and checkpoint, which
	// count on a virtual disk. Checkpoints run on their own connection
	// (checkpointer), not in commits. synchronous=NORMAL leaves the fsync
	// of each commit to the syncer, which answers the writes after it.
	s.wdb, err = sql.Open("sqlite", dsn(path, url.Values{
		"_pragma": {"busy_timeout(" + busy + ")", "page_size(16384)", "synchronous(NORMAL)",
			"temp_store(MEMORY)", "wal_autocheckpoint(0)"},
		"_journal_mode": {"WAL"},
	}))
	if err != nil {
		return err
	}
	s.wdb.SetMaxOpenConns(1)
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if err := migrate(ctx, conn); err != nil {
		conn.Close()
		return err
	}
	s.cdb, err = sql.Open("sqlite", dsn(path, url.Values{
		"_pragma": {"busy_timeout(" + busy + ")", "synchronous(FULL)"},
	}))
	if err != nil {
		conn.Close()
		return err
	}
	s.cdb.SetMaxOpenConns(1)
	// The store gets its writer once the writer runs: Open's cleanup
	// after a failure waits for a writer it has to stop.
	w, err := newWriter(ctx, conn, cfg.MaxGroup)
	if err != nil {
		conn.Close()
		return err
	}
	counted := countsWALPages(conn)
	if !counted {
		// Without page counts, let SQLite checkpoint inside commits.
		if _, err := conn.ExecContext(ctx, "PRAGMA wal_autocheckpoint = 1000"); err != nil {
			conn.Close()
			return err
		}
	}
	syn, err := newSyncer(path)
	if err != nil {
		conn.Close()
		return fmt.Errorf("open the WAL file: %w", err)
	}
	var ckpt *checkpointer
	if counted {
		ckpt = newCheckpointer(s.cdb)
	}
	w.start(syn, ckpt)
	s.w = w

	s.rdb, err = sql.Open("sqlite", dsn(path, url.Values{
		"_pragma": {"busy_timeout(" + busy + ")", "query_only(1)"},
	}))
	if err != nil {
		return err
	}
	s.rdb.SetMaxOpenConns(cfg.ReadConns)
	s.rdb.SetMaxIdleConns(cfg.ReadConns)
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("connect reader: %w", err)
	}

	s.recovered, err = s.recoverOrphans(ctx, cfg.Now().UTC())
	return err
}

// dsn is the driver's name for the database file at path: a SQLite URI,
// so that any character in the path is escaped.
func dsn(path string, q url.Values) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// Recovered returns how many messages Open found stored sending, left by
// an older version (which wrote claims to the database) that died
// mid-delivery, and put back in the queue.
func (s *Store) Recovered() int { return s.recovered }

// Commits returns the number of write transactions committed since Open.
// Each commit may carry many writes (group commit).
func (s *Store) Commits() int64 { return s.w.commits.Load() }

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// Close finishes the writes already submitted, closes the database and
// releases the directory lock. Writes submitted afterwards fail with
// ErrClosed. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.shutdown() })
	return s.closeErr
}

// shutdown releases whatever open managed to acquire.
func (s *Store) shutdown() error {
	s.closed.Store(true)
	var errs []error
	if s.w != nil {
		s.w.close()
		errs = append(errs, s.w.conn.Close())
	}
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.cdb != nil {
		errs = append(errs, s.cdb.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	errs = append(errs, s.lock.release())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// isClosed reports whether Close was called.
func (s *Store) isClosed() bool { return s.closed.Load() }
