package data

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// Defaults of the write and read options.
const (
	DefaultRowGroupRows  = 64 * 1024        // rows per row group
	DefaultRowGroupBytes = 64 * 1024 * 1024 // buffered (uncompressed) bytes per row group
	DefaultBatchRows     = 1024             // rows per ReadTable callback
)

// pageBytes is the uncompressed size at which a column's page is closed. Larger pages than
// parquet-go's default (256 KiB) compress better at no extra CPU time: on bench/capture_bench.sh's
// cell the activations table took 51.2 MB with 256 KiB pages and 47.2 MB with 1 MiB, attention
// 9.10 and 8.92 MB, each in about the same CPU time. A reader decodes a page of each column at a time, so
// it also bounds a reader's memory per column.
const pageBytes = 1 << 20

// writeChunkRows is how many rows TableWriter hands parquet-go at once; the row group budget is
// checked between chunks.
const writeChunkRows = 1024

// WriteOption configures CreateTable.
type WriteOption func(*writeConfig)

type writeConfig struct {
	rowGroupRows  int
	rowGroupBytes int64
}

// RowGroupRows caps a row group at n rows (default DefaultRowGroupRows). n ≤ 0 keeps the default.
func RowGroupRows(n int) WriteOption {
	return func(c *writeConfig) {
		if n > 0 {
			c.rowGroupRows = n
		}
	}
}

// RowGroupBytes closes a row group once its buffered, uncompressed size reaches n bytes (default
// DefaultRowGroupBytes), which bounds a writer's memory to about n bytes plus one chunk of rows.
// n ≤ 0 keeps the default.
func RowGroupBytes(n int64) WriteOption {
	return func(c *writeConfig) {
		if n > 0 {
			c.rowGroupBytes = n
		}
	}
}

// defaultCodecer is implemented by a row type whose table compresses its columns with another
// codec than zstd's default level where its tags name none.
type defaultCodecer interface {
	defaultCodec() compress.Codec
}

// zstdFastest is zstd at its fastest level.
var zstdFastest = zstd.Codec{Level: zstd.SpeedFastest}

// TableWriter streams rows of type T into one Parquet file. Rows go to a temporary file in the
// destination's folder, flushed a row group at a time; Close renames it to the destination, so
// the destination either does not exist or holds a complete file. A TableWriter is not safe for
// concurrent use.
type TableWriter[T TableRow] struct {
	path string
	f    *AtomicFile
	w    *parquet.GenericWriter[T]
	cfg  writeConfig

	rows       int64 // rows written in all
	groupRows  int   // rows in the current row group
	groupStart int64 // w.Size() when the current row group began
	err        error // the first write error; sticky
	done       bool  // closed or aborted
}

// WriteTable writes rows as a complete table at path (temporary name, then rename): CreateTable,
// Write and Close in one call, for tables small enough to hold in memory.
func WriteTable[T TableRow](path string, meta Meta, rows []T, opts ...WriteOption) error {
	w, err := CreateTable[T](path, meta, opts...)
	if err != nil {
		return err
	}
	if err := w.Write(rows...); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// CreateTable starts writing the table of row type T to path. The file's key-value metadata
// holds KeySchemaVersion (SchemaVersion), KeyTable (T's TableName) and KeyConfig (meta.Config,
// which must be valid JSON; empty writes "null"). Columns are zstd-compressed (AttentionRow's at zstd's
// fastest level) unless T's tags name another codec; list<float32> columns are byte-stream-split encoded and string columns dictionary
// encoded, as T's tags say. ActivationRow's vector column is Snappy-compressed: on a capture of
// bench/capture_bench.sh's sweep (585,728 rows of d_model 32) zstd's default level wrote it in
// 2.4 s at 48.5 MB, its fastest level in 1.4 s at 52.0 MB, Snappy in 0.7-1.1 s at 51.3 MB; the
// vector is most of a capture's bytes and its write time.
//
// The file is written through an AtomicFile: to path+".tmp-phaseprobe-<random>" (TempPattern) in
// the same folder, which must exist, and renamed to path by Close. Call Close to finish the file,
// or Abort to drop it; `defer w.Abort()` after a successful CreateTable is safe
// because Abort does nothing after Close.
func CreateTable[T TableRow](path string, meta Meta, opts ...WriteOption) (*TableWriter[T], error) {
	cfg := writeConfig{rowGroupRows: DefaultRowGroupRows, rowGroupBytes: DefaultRowGroupBytes}
	for _, o := range opts {
		o(&cfg)
	}
	config := meta.Config
	if len(config) == 0 {
		config = []byte("null")
	}
	if !json.Valid(config) {
		return nil, fmt.Errorf("create %s: config is not valid JSON", path)
	}
	var zero T
	f, err := CreateAtomic(path, false)
	if err != nil {
		return nil, err
	}
	var codec compress.Codec = &parquet.Zstd
	if c, ok := any(zero).(defaultCodecer); ok {
		codec = c.defaultCodec()
	}
	popts := []parquet.WriterOption{
		parquet.Compression(codec),
		// Page headers carry no min/max: the column index and the column chunk's statistics
		// hold the same bounds, and parquet-go would compute every page's bounds a second time
		// for them (an eighth of an uncompressed activations write).
		parquet.DataPageStatistics(false),
		parquet.PageBufferSize(pageBytes),
		parquet.KeyValueMetadata(KeySchemaVersion, strconv.Itoa(SchemaVersion)),
		parquet.KeyValueMetadata(KeyTable, zero.TableName()),
		parquet.KeyValueMetadata(KeyConfig, string(config)),
	}
	// Min/max bounds of a vector's elements help no query and cost a tenth of the write time.
	schema := parquet.SchemaOf(zero)
	for _, p := range schema.Columns() {
		if c, _ := schema.Lookup(p...); c.MaxRepetitionLevel > 0 {
			popts = append(popts, parquet.SkipPageBounds(p...))
		}
	}
	w := parquet.NewGenericWriter[T](f, popts...)
	return &TableWriter[T]{path: path, f: f, w: w, cfg: cfg}, nil
}

// Write appends rows. It keeps nothing of them after it returns, so the caller may reuse the rows
// and their slices (a vector may point into a larger buffer). A row group is flushed to the file
// whenever it reaches the row or byte budget, so memory stays bounded however many rows a writer
// takes. After an error, every later Write and Close return that error and Close removes the
// temporary file.
func (tw *TableWriter[T]) Write(rows ...T) error {
	if tw.done {
		return fmt.Errorf("write %s: writer is closed", tw.path)
	}
	if tw.err != nil {
		return tw.err
	}
	for len(rows) > 0 {
		n := min(len(rows), writeChunkRows, tw.cfg.rowGroupRows-tw.groupRows)
		if _, err := tw.w.Write(rows[:n]); err != nil {
			tw.err = fmt.Errorf("write %s: %w", tw.path, err)
			return tw.err
		}
		rows = rows[n:]
		tw.rows += int64(n)
		tw.groupRows += n
		if tw.groupRows >= tw.cfg.rowGroupRows || tw.w.Size()-tw.groupStart >= tw.cfg.rowGroupBytes {
			if err := tw.w.Flush(); err != nil {
				tw.err = fmt.Errorf("write %s: %w", tw.path, err)
				return tw.err
			}
			tw.groupRows = 0
			tw.groupStart = tw.w.Size()
		}
	}
	return nil
}

// Rows returns the number of rows written so far.
func (tw *TableWriter[T]) Rows() int64 { return tw.rows }

// Close flushes the last row group, writes the footer, syncs the file to disk and renames it to
// the destination path, replacing any file there. If anything fails, the temporary file is
// removed and the destination is left as it was.
func (tw *TableWriter[T]) Close() error {
	if tw.done {
		return fmt.Errorf("close %s: writer is closed", tw.path)
	}
	if tw.err != nil {
		tw.Abort()
		return tw.err
	}
	tw.done = true
	if err := tw.w.Close(); err != nil {
		tw.f.Abort()
		return fmt.Errorf("close %s: %w", tw.path, err)
	}
	if err := tw.f.Commit(); err != nil {
		return fmt.Errorf("close %s: %w", tw.path, err)
	}
	return nil
}

// Abort drops the file: it closes and removes the temporary file and leaves the destination as
// it was. It does nothing after Close or a previous Abort.
func (tw *TableWriter[T]) Abort() error {
	if tw.done {
		return nil
	}
	tw.done = true
	return tw.f.Abort()
}

// ReadOption configures ReadTable.
type ReadOption func(*readConfig)

type readConfig struct {
	batchRows int
}

// BatchRows sets how many rows ReadTable passes to its callback at most (default
// DefaultBatchRows). n ≤ 0 keeps the default.
func BatchRows(n int) ReadOption {
	return func(c *readConfig) {
		if n > 0 {
			c.batchRows = n
		}
	}
}

// ReadTable streams the table file at path into fn, one batch of rows at a time in file order,
// reading one row group at a time, so memory stays bounded by a row group's compressed pages and
// a batch whatever the file's size. The batch slice is reused by the next call, the slices inside
// its rows (vectors) are not: fn may keep rows with append(kept, rows...) without copying their
// vectors. An error from fn stops the read and is returned as is. A NaN or ±Inf in an optional
// float column of metrics or outputs (a file of schema version 1 or 2, or of another tool) reads as
// NULL (nil), so fn never sees a non-finite value there.
//
// ReadTable fails, naming the file, when the file is truncated or corrupt, when its
// KeySchemaVersion is newer than SchemaVersion or older than its table's last incompatible change
// (tableSince), when its KeyTable is not T's TableName, or when a
// column of T is missing or has an incompatible type (see docs/tables.md for what files written
// by other tools must look like). A file without phaseprobe metadata is read if its columns
// match. A table in a cell's folder (runs/<sweep>/cells/<cell>/) must belong to that cell: its
// metadata and every row that carries Coords must name it. It returns the file's metadata.
func ReadTable[T TableRow](path string, fn func(rows []T) error, opts ...ReadOption) (meta Meta, err error) {
	cfg := readConfig{batchRows: DefaultBatchRows}
	for _, o := range opts {
		o(&cfg)
	}
	file, pf, err := openTable(path)
	if err != nil {
		return Meta{}, err
	}
	defer file.Close()
	if meta, err = metaOf(path, pf); err != nil {
		return meta, err
	}
	var zero T
	if err := checkMeta(path, meta, zero.TableName()); err != nil {
		return meta, err
	}
	if err := checkCellMeta(path, meta); err != nil {
		return meta, err
	}
	if err := checkDictionaryPages(path, file, pf); err != nil {
		return meta, err
	}
	wantCell := folderCell(path)
	conv, err := readPlan(path, parquet.SchemaOf(zero), pf.Schema())
	if err != nil {
		return meta, err
	}
	// parquet-go panics on some malformed pages; such a panic is the file's fault. A panic in fn
	// is the caller's and goes on.
	inFn := false
	defer func() {
		if r := recover(); r != nil {
			if inFn {
				panic(r)
			}
			err = fmt.Errorf("read %s: corrupt file: %v", path, r)
		}
	}()
	batch := make([]T, cfg.batchRows)
	for i, rg := range pf.RowGroups() {
		if conv != nil {
			rg = parquet.ConvertRowGroup(rg, conv)
		}
		r := parquet.NewGenericRowGroupReader[T](rg)
		for {
			clear(batch) // fresh vectors for every batch, so fn may keep the rows it got
			n, rerr := r.Read(batch)
			for j := range batch[:n] {
				if r, ok := any(&batch[j]).(nanNuller); ok {
					r.nanToNull()
				}
			}
			if wantCell != "" {
				for j := range batch[:n] {
					if err := checkCellRow(path, wantCell, any(batch[j])); err != nil {
						r.Close()
						return meta, err
					}
				}
			}
			if n > 0 {
				inFn = true
				ferr := fn(batch[:n])
				inFn = false
				if ferr != nil {
					r.Close()
					return meta, ferr
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				r.Close()
				return meta, fmt.Errorf("read %s: row group %d: %w", path, i, rerr)
			}
		}
		if err := r.Close(); err != nil {
			return meta, fmt.Errorf("read %s: row group %d: %w", path, i, err)
		}
	}
	return meta, nil
}

// ReadMeta returns the metadata of the table file at path, reading only its footer. It does not
// check the schema version; ReadTable does.
func ReadMeta(path string) (Meta, error) {
	file, pf, err := openTable(path)
	if err != nil {
		return Meta{}, err
	}
	defer file.Close()
	return metaOf(path, pf)
}

// openTable opens a Parquet file and reads its footer.
func openTable(path string) (*os.File, *parquet.File, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	if err := checkFooterLength(file, st.Size()); err != nil {
		file.Close()
		return nil, nil, fmt.Errorf("read %s: not a complete Parquet file: %w", path, err)
	}
	pf, err := openParquet(file, st.Size())
	if err != nil {
		file.Close()
		return nil, nil, fmt.Errorf("read %s: not a complete Parquet file: %w", path, err)
	}
	return file, pf, nil
}

// checkDictionaryPages checks the CRC-32 of every dictionary page in the file against the one its
// page header states. The Parquet format (PageHeader.crc) defines it as the standard CRC-32 (IEEE)
// of the page's bytes as stored, after compression. parquet-go writes it for every page and checks
// it for data pages, but not for a dictionary page, which it reads through another path; a flipped
// byte there would change every value that points at the entry, silently (a position of -1 read
// as -16777214). A page header without a CRC (0, optional in the format) is not checked, so files
// of other writers that omit it are still read.
func checkDictionaryPages(path string, f io.ReaderAt, pf *parquet.File) error {
	md := pf.Metadata()
	for i, rg := range md.RowGroups {
		for _, col := range rg.Columns {
			cm := col.MetaData
			if cm.DictionaryPageOffset <= 0 || cm.TotalCompressedSize <= 0 {
				continue
			}
			name := fmt.Sprint(cm.PathInSchema)
			fail := func(format string, args ...any) error {
				return fmt.Errorf("read %s: corrupt file: row group %d, column %s: dictionary page: %s", path, i, name, fmt.Sprintf(format, args...))
			}
			sec := io.NewSectionReader(f, cm.DictionaryPageOffset, cm.TotalCompressedSize)
			rb := bufio.NewReaderSize(sec, 4096)
			var proto thrift.CompactProtocol
			var h format.PageHeader
			if err := thrift.NewDecoder(proto.NewReader(rb)).Decode(&h); err != nil {
				return fail("page header: %v", err)
			}
			if h.Type != format.DictionaryPage {
				continue // a writer that records a dictionary offset it did not use; nothing to check
			}
			if h.CompressedPageSize < 0 || int64(h.CompressedPageSize) > cm.TotalCompressedSize {
				return fail("%d bytes long, the column chunk only %d", h.CompressedPageSize, cm.TotalCompressedSize)
			}
			if h.CRC == 0 {
				continue
			}
			body := make([]byte, h.CompressedPageSize)
			if _, err := io.ReadFull(rb, body); err != nil {
				return fail("%v", err)
			}
			if got := crc32.ChecksumIEEE(body); got != uint32(h.CRC) {
				return fail("CRC-32 of its bytes is 0x%08X, its header says 0x%08X", got, uint32(h.CRC))
			}
		}
	}
	return nil
}

// openParquet reads a Parquet footer. parquet-go panics on some damaged footers (a flipped byte
// in a column's metadata gives a negative length); such a panic is the file's fault.
func openParquet(f *os.File, size int64) (pf *parquet.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			pf, err = nil, fmt.Errorf("corrupt footer: %v", r)
		}
	}()
	return parquet.OpenFile(f, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
}

// checkFooterLength checks the footer length a Parquet file states in its last 8 bytes (length,
// "PAR1") against the file's size. parquet-go allocates that length before reading it, so a
// damaged or hostile 8-byte file could otherwise make a reader allocate up to 4 GiB.
func checkFooterLength(f *os.File, size int64) error {
	const magic = 4
	if size < 2*magic+4 {
		return fmt.Errorf("%d bytes, fewer than the smallest Parquet file", size)
	}
	var tail [8]byte
	if _, err := f.ReadAt(tail[:], size-8); err != nil {
		return err
	}
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > size-2*magic-4 {
		return fmt.Errorf("its footer is %d bytes long, the file only %d", n, size)
	}
	return nil
}
