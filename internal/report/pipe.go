package report

import (
	"io"
	"sync"
)

// pipeChunk is how much CSV the producer hands over at a time: large enough
// that the hand-over costs nothing next to deflating it, small enough that
// the chunks in flight stay a few MB.
const (
	pipeChunk  = 256 << 10
	pipeQueued = 4
)

// pipeWriter moves the archive's deflate and AES work to a goroutine of its
// own, so one core queries, decrypts and formats rows while the other
// compresses and encrypts the rows before them. The exhaust was one
// goroutine and left the second core idle. Memory in flight is bounded by
// (pipeQueued + 2) chunks.
type pipeWriter struct {
	cur   []byte
	full  chan []byte
	free  chan []byte
	done  chan struct{}
	fail  chan struct{} // closed by the consumer once err is set
	once  sync.Once
	err   error
	dst   io.Writer
	close error
}

func newPipeWriter(dst io.Writer) *pipeWriter {
	p := &pipeWriter{full: make(chan []byte, pipeQueued), free: make(chan []byte, pipeQueued+1),
		done: make(chan struct{}), fail: make(chan struct{}), dst: dst}
	p.cur = make([]byte, 0, pipeChunk)
	go p.consume()
	return p
}

func (p *pipeWriter) consume() {
	defer close(p.done)
	for chunk := range p.full {
		if p.err == nil {
			if _, err := p.dst.Write(chunk); err != nil {
				p.err = err
				close(p.fail)
			}
		}
		select {
		case p.free <- chunk[:0]:
		default:
		}
	}
}

// failed reports the consumer's error without waiting for it to finish.
func (p *pipeWriter) failed() error {
	select {
	case <-p.fail:
		return p.err
	default:
		return nil
	}
}

func (p *pipeWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		room := cap(p.cur) - len(p.cur)
		if room == 0 {
			if err := p.handOver(); err != nil {
				return n - len(b), err
			}
			continue
		}
		k := min(room, len(b))
		p.cur = append(p.cur, b[:k]...)
		b = b[k:]
	}
	return n, nil
}

func (p *pipeWriter) handOver() error {
	if err := p.failed(); err != nil {
		return err
	}
	p.full <- p.cur
	select {
	case p.cur = <-p.free:
	default:
		p.cur = make([]byte, 0, pipeChunk)
	}
	return nil
}

// Close hands over what is left, waits for the consumer and returns the
// first write error. It must be called once writing is over, also after a
// failure, so the goroutine ends.
func (p *pipeWriter) Close() error {
	p.once.Do(func() {
		if len(p.cur) > 0 && p.failed() == nil {
			p.full <- p.cur
		}
		p.cur = nil
		close(p.full)
		<-p.done
		p.close = p.err
	})
	return p.close
}
