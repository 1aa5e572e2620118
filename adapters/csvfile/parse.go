package csvfile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
)

// parser reads RFC 4180 records as encoding/csv does with its defaults —
// the same records, the same line numbers, the same *csv.ParseError values
// — but faster on the rows billing exports are made of: a line without a
// quote (most of a CUR's, whose many columns are mostly empty) is split at
// its commas without copying, and a quoted field is scanned quote to quote.
type parser struct {
	br      *bufio.Reader
	numLine int    // lines read so far
	long    []byte // a line longer than br's buffer

	text  []byte   // the record's fields, unquoted, one after the other
	ends  []int    // where each field ends in text
	lines []int    // the line each field starts on, unless oneLine
	rec   []string // the record handed out, reused
	line  int      // the line the record starts on
	// oneLine says the record was a single line without quotes.
	oneLine bool

	fields int // fields a record must have; 0 takes the first record's count
}

// readLine returns the next line with its line end as "\n" (a CRLF is
// turned into LF, and a last line is returned without one); a CR ending
// the input is dropped.
func (p *parser) readLine() ([]byte, error) {
	line, err := p.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		p.long = append(p.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = p.br.ReadSlice('\n')
			p.long = append(p.long, line...)
		}
		line = p.long
	}
	if len(line) > 0 && err == io.EOF {
		err = nil
		if line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
	}
	p.numLine++
	if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	return line, err
}

// newlineLen is 1 when line ends with its line end, 0 for a last line.
func newlineLen(line []byte) int {
	if len(line) > 0 && line[len(line)-1] == '\n' {
		return 1
	}
	return 0
}

// read returns the next record, skipping empty lines, or io.EOF. The
// record slice is reused by the next read; its strings are not.
func (p *parser) read() ([]string, error) {
	var line []byte
	var errRead error
	for errRead == nil {
		line, errRead = p.readLine()
		if errRead == nil && len(line) == newlineLen(line) {
			continue // an empty line
		}
		break
	}
	if errRead == io.EOF {
		return nil, io.EOF
	}
	p.line = p.numLine
	var err error
	if errRead == nil && bytes.IndexByte(line, '"') < 0 {
		p.split(line)
	} else {
		err = p.parse(line, errRead)
	}
	if err == nil {
		err = errRead
	}
	if p.fields > 0 {
		if len(p.rec) != p.fields && err == nil {
			err = &csv.ParseError{StartLine: p.line, Line: p.line, Column: 1, Err: csv.ErrFieldCount}
		}
	} else if p.fields == 0 {
		p.fields = len(p.rec)
	}
	return p.rec, err
}

// split cuts a line without quotes at its commas: one string for the
// record, fields sliced from it.
func (p *parser) split(line []byte) {
	s := string(line[:len(line)-newlineLen(line)])
	p.rec, p.oneLine = p.rec[:0], true
	for {
		i := bytes.IndexByte(line[:len(s)], ',')
		if i < 0 {
			p.rec = append(p.rec, s)
			return
		}
		p.rec = append(p.rec, s[:i])
		s, line = s[i+1:], line[i+1:]
	}
}

// parse reads a record that has quotes, or whose reading failed, from its
// first line, reading further lines while a quoted field goes on. It
// reports malformed quoting as *csv.ParseError with the 1-based line and
// byte column where it was found.
func (p *parser) parse(line []byte, errRead error) error {
	p.text, p.ends, p.lines, p.oneLine = p.text[:0], p.ends[:0], p.lines[:0], false
	var err error
	lineNo, col := p.numLine, 1
	// quote is the index of the next quote in line, or -1.
	quote := bytes.IndexByte(line, '"')
fields:
	for {
		if len(line) == 0 || line[0] != '"' {
			end := bytes.IndexByte(line, ',')
			field := line
			if end >= 0 {
				field = line[:end]
			} else {
				field = line[:len(line)-newlineLen(line)]
			}
			if quote >= 0 && quote < len(field) {
				err = &csv.ParseError{StartLine: p.line, Line: p.numLine, Column: col + quote, Err: csv.ErrBareQuote}
				break
			}
			p.text = append(p.text, field...)
			p.ends = append(p.ends, len(p.text))
			p.lines = append(p.lines, lineNo)
			if end < 0 {
				break
			}
			line, col = line[end+1:], col+end+1
			if quote >= 0 {
				quote -= end + 1
			}
			continue
		}
		// A quoted field, perhaps over several lines.
		startLine := lineNo
		line, col = line[1:], col+1
		for {
			i := bytes.IndexByte(line, '"')
			switch {
			case i >= 0:
				p.text = append(p.text, line[:i]...)
				line, col = line[i+1:], col+i+1
				switch {
				case len(line) > 0 && line[0] == '"': // "" is a quote
					p.text = append(p.text, '"')
					line, col = line[1:], col+1
					continue
				case len(line) > 0 && line[0] == ',': // the field ends
					line, col = line[1:], col+1
					p.ends = append(p.ends, len(p.text))
					p.lines = append(p.lines, startLine)
					quote = bytes.IndexByte(line, '"')
					continue fields
				case len(line) == newlineLen(line): // the record ends
					p.ends = append(p.ends, len(p.text))
					p.lines = append(p.lines, startLine)
					break fields
				default:
					err = &csv.ParseError{StartLine: p.line, Line: p.numLine, Column: col - 1, Err: csv.ErrQuote}
					break fields
				}
			case len(line) > 0: // the field goes on past the line end
				p.text = append(p.text, line...)
				if errRead != nil {
					break fields
				}
				col += len(line)
				line, errRead = p.readLine()
				if len(line) > 0 {
					lineNo, col = lineNo+1, 1
				}
				if errRead == io.EOF {
					errRead = nil
				}
			default: // the input ended inside the field
				if errRead == nil {
					err = &csv.ParseError{StartLine: p.line, Line: lineNo, Column: col, Err: csv.ErrQuote}
					break fields
				}
				p.ends = append(p.ends, len(p.text))
				p.lines = append(p.lines, startLine)
				break fields
			}
		}
	}
	if err == nil {
		err = errRead
	}
	s := string(p.text)
	p.rec = p.rec[:0]
	from := 0
	for _, end := range p.ends {
		p.rec = append(p.rec, s[from:end])
		from = end
	}
	return err
}

// fieldLine returns the line field i of the last record starts on.
func (p *parser) fieldLine(i int) int {
	if p.oneLine || i >= len(p.lines) {
		return p.line
	}
	return p.lines[i]
}
