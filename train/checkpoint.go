package train

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/phaseprobe/phaseprobe/data"
)

// Checkpoint file format (one file per member and step, little-endian):
//
//	"PPCKPT1\n"                magic
//	uint64                     length of the JSON header
//	JSON header                CheckpointHeader
//	float32 × N                params, then Adam m, then v, each in Config.Params order
//	uint32                     CRC-32 (IEEE) of everything before it
//
// Files are written to a temporary name, synced and renamed, so a checkpoint either exists whole or
// not at all; the CRC catches a file damaged afterwards.
const ckptMagic = "PPCKPT1\n"

// CheckpointHeader describes a checkpoint; it is enough to rebuild the model.
type CheckpointHeader struct {
	Config     Config `json:"config"`
	Optim      Optim  `json:"optim"`
	Seed       uint64 `json:"seed"`
	Step       int    `json:"step"`
	TotalSteps int    `json:"total_steps"`
	DataRNG    []byte `json:"data_rng,omitempty"` // state of the member's data stream (PCG)
	// Losses are the training-batch losses of the steps since the previous checkpoint, in order.
	Losses  []float32 `json:"losses,omitempty"`
	Tensors []ckTen   `json:"tensors"`
	// How the checkpoint was computed, so that a replay (phaseprobe zoom) can say why it differs:
	// the backend (Backend.String), the seeds trained together in one ensemble, and the binary
	// (BinaryID). Absent in checkpoints written before they were recorded.
	Backend  string   `json:"backend,omitempty"`
	Ensemble []uint64 `json:"ensemble,omitempty"`
	Binary   string   `json:"binary,omitempty"`
}

type ckTen struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// SaveCheckpoint writes member k's weights and optimizer state to path atomically.
func (t *Trainer) SaveCheckpoint(path string, k, totalSteps int, dataRNG []byte, losses []float32) error {
	h := CheckpointHeader{Config: t.cfg, Optim: t.opt, Seed: t.seeds[k], Step: t.step, TotalSteps: totalSteps, DataRNG: dataRNG, Losses: losses,
		Backend: t.b.String(), Ensemble: t.seeds, Binary: BinaryID()}
	for _, ps := range t.specs {
		h.Tensors = append(h.Tensors, ckTen{ps.Name, ps.Shape})
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString(ckptMagic)
	_ = binary.Write(&buf, binary.LittleEndian, uint64(len(hj)))
	buf.Write(hj)
	for _, s := range t.state {
		_ = binary.Write(&buf, binary.LittleEndian, memberSlice(s, k))
	}
	_ = binary.Write(&buf, binary.LittleEndian, crc32.ChecksumIEEE(buf.Bytes()))
	return data.WriteFileAtomic(path, buf.Bytes())
}

// PruneCheckpoints deletes the older checkpoints of a captured cell (cellDir/done.json exists),
// keeping the newest keep of its checkpoints at the scheduled steps (keep ≤ 0 keeps all). Resuming
// needs only the newest checkpoint; re-capturing a cell, exporting an older step or zooming into an
// older window needs the others, and a rerun without them retrains the cell from step 0 to make
// them again (training is deterministic).
//
// Only phaseprobe's own files are removed: names step-NNNNNNNN.ckpt of a scheduled step under
// cellDir/checkpoints/ that start with the checkpoint magic. Nothing is removed unless the newest
// kept checkpoint reads whole (checksum) and the folder entry of its rename has been synced, so a
// crash during pruning never leaves a cell without a usable checkpoint. It returns the paths removed.
func PruneCheckpoints(cellDir string, schedule []int, keep int) ([]string, error) {
	if keep <= 0 {
		return nil, nil
	}
	if !cellDone(cellDir) {
		return nil, fmt.Errorf("%s: not captured yet (no done.json): its checkpoints are still needed", cellDir)
	}
	var have []int
	for _, st := range CheckpointSteps(cellDir) {
		if slices.Contains(schedule, st) {
			have = append(have, st)
		}
	}
	if len(have) <= keep {
		return nil, nil
	}
	newest := checkpointPath(cellDir, have[len(have)-1])
	if _, err := ReadCheckpointHeader(newest); err != nil {
		return nil, fmt.Errorf("keep the older checkpoints: %w", err)
	}
	if err := data.SyncDir(filepath.Dir(newest)); err != nil {
		return nil, err
	}
	var removed []string
	for _, st := range have[:len(have)-keep] {
		p := checkpointPath(cellDir, st)
		if !hasCheckpointMagic(p) {
			continue // not phaseprobe's file: leave it
		}
		if err := os.Remove(p); err != nil {
			return removed, fmt.Errorf("remove %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// hasCheckpointMagic reports whether the file at path starts with the checkpoint magic.
func hasCheckpointMagic(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(ckptMagic))
	_, err = io.ReadFull(f, head)
	return err == nil && string(head) == ckptMagic
}

// checkpointData is a decoded checkpoint.
type checkpointData struct {
	Header CheckpointHeader
	State  [][]float32 // 3·len(params) flat tensors: params, m, v
}

// ReadCheckpointHeader reads a checkpoint's header and verifies its checksum.
func ReadCheckpointHeader(path string) (CheckpointHeader, error) {
	c, err := readCheckpoint(path)
	return c.Header, err
}

func readCheckpoint(path string) (checkpointData, error) {
	var c checkpointData
	raw, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	bad := func(why string) (checkpointData, error) {
		return c, fmt.Errorf("checkpoint %s: %s", path, why)
	}
	if len(raw) < len(ckptMagic)+12 || string(raw[:len(ckptMagic)]) != ckptMagic {
		return bad("not a phaseprobe checkpoint (bad magic)")
	}
	body, sum := raw[:len(raw)-4], binary.LittleEndian.Uint32(raw[len(raw)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return bad("checksum mismatch (truncated or damaged file)")
	}
	r := bufio.NewReader(bytes.NewReader(body[len(ckptMagic):]))
	var hl uint64
	if err := binary.Read(r, binary.LittleEndian, &hl); err != nil || hl > uint64(len(body)) {
		return bad("bad header length")
	}
	hj := make([]byte, hl)
	if _, err := io.ReadFull(r, hj); err != nil {
		return bad("short header")
	}
	if err := json.Unmarshal(hj, &c.Header); err != nil {
		return bad("header: " + err.Error())
	}
	// The tensors the header lists must fill the rest of the file exactly. Checking that before
	// allocating them keeps a damaged header from asking for more memory than the file holds.
	rest := uint64(len(body)-len(ckptMagic)-8) - hl
	var floats uint64
	for _, ct := range c.Header.Tensors {
		size := uint64(1)
		for _, d := range ct.Shape {
			if d < 0 || d > 0 && size > rest/uint64(d) {
				return bad(fmt.Sprintf("tensor %s has shape %v, larger than the file", ct.Name, ct.Shape))
			}
			size *= uint64(d)
		}
		if floats += size; floats > rest {
			return bad("the header lists more tensor data than the file holds")
		}
	}
	if floats*3*4 != rest {
		return bad(fmt.Sprintf("%d bytes of tensor data, the header lists %d", rest, floats*3*4))
	}
	for range 3 {
		for _, ct := range c.Header.Tensors {
			f := make([]float32, shapeSize(ct.Shape))
			if err := binary.Read(r, binary.LittleEndian, f); err != nil {
				return bad("short tensor data for " + ct.Name)
			}
			c.State = append(c.State, f)
		}
	}
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		return bad("trailing data")
	}
	return c, nil
}

// RestoreTrainer rebuilds an ensemble from one checkpoint per member (all at the same step, with
// the same config and optimizer). It returns the trainer and each member's data-stream state.
func RestoreTrainer(b *Backend, paths []string) (*Trainer, [][]byte, error) {
	var cks []checkpointData
	for _, p := range paths {
		c, err := readCheckpoint(p)
		if err != nil {
			return nil, nil, err
		}
		if len(cks) > 0 {
			h0 := cks[0].Header
			if c.Header.Step != h0.Step || c.Header.Config != h0.Config || c.Header.Optim != h0.Optim {
				return nil, nil, fmt.Errorf("checkpoint %s: step/config/optimizer differ from %s", p, paths[0])
			}
		}
		cks = append(cks, c)
	}
	h0 := cks[0].Header
	seeds := make([]uint64, len(cks))
	rngs := make([][]byte, len(cks))
	for k, c := range cks {
		seeds[k] = c.Header.Seed
		rngs[k] = c.Header.DataRNG
	}
	t, err := NewTrainer(b, h0.Config, h0.Optim, seeds)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", paths[0], err)
	}
	if len(t.specs) != len(h0.Tensors) {
		return nil, nil, fmt.Errorf("checkpoint %s: %d tensors, config needs %d", paths[0], len(h0.Tensors), len(t.specs))
	}
	for i, ps := range t.specs {
		if h0.Tensors[i].Name != ps.Name || shapeSize(h0.Tensors[i].Shape) != shapeSize(ps.Shape) {
			return nil, nil, fmt.Errorf("checkpoint %s: tensor %d is %s%v, config needs %s%v", paths[0], i, h0.Tensors[i].Name, h0.Tensors[i].Shape, ps.Name, ps.Shape)
		}
	}
	K := len(cks)
	for j := range t.state {
		n := len(cks[0].State[j])
		flat := make([]float32, K*n)
		for k, c := range cks {
			copy(flat[k*n:], c.State[j])
		}
		dims := append([]int{K}, t.specs[j%len(t.specs)].Shape...)
		t.state[j] = tensors.FromFlatDataAndDimensions(flat, dims...)
	}
	t.step = h0.Step
	return t, rngs, nil
}
