package grapenet

import (
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// proc is a child process this package started (a grape, a worker, a libtorrent node).
// Each exits when its standard input closes, which the OS does for us if this process
// dies; otherwise it is ended by its PID, never by name.
type proc struct {
	what  string // for messages: "grape 2", "worker w1", "libtorrent node"
	cmd   *exec.Cmd
	stdin io.WriteCloser // the write end of its standard input
	done  chan struct{}  // closed once cmd has been waited for
}

// startProc starts cmd (what names it in messages) with a pipe to its standard input,
// and waits for it in the background. Other pipes are set up by the caller before.
func startProc(what string, cmd *exec.Cmd) (*proc, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		stdin.Close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	p := &proc{what: what, cmd: cmd, stdin: stdin, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process: with SIGTERM when term, else by closing its standard input
// alone; then with SIGKILL if it has not exited after stopTimeout, which is an error.
// Safe to call more than once.
func (p *proc) stop(term bool) error {
	if p.exited() {
		p.stdin.Close()
		return nil
	}
	defer p.stdin.Close()
	asked := "its standard input closing"
	if term {
		asked = "SIGTERM"
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !p.exited() {
			return fmt.Errorf("stopping %s (pid %d): %w", p.what, p.pid(), err)
		}
	} else {
		p.stdin.Close()
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
	}
	if err := p.kill(); err != nil {
		return err
	}
	return fmt.Errorf("%s (pid %d) did not exit within %v of %s and was killed", p.what, p.pid(), stopTimeout, asked)
}

// kill sends SIGKILL and waits for the process to exit.
func (p *proc) kill() error {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !p.exited() {
		return fmt.Errorf("killing %s (pid %d): %w", p.what, p.pid(), err)
	}
	<-p.done
	p.stdin.Close()
	return nil
}
