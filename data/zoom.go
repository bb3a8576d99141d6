package data

// Schedules of CheckpointRow.
const (
	ScheduleLog  = "log"  // the sweep's schedule (checkpoints.steps of the spec)
	ScheduleZoom = "zoom" // added by phaseprobe zoom: a replay verified bit for bit against the run
)

// CheckpointRow is one row of checkpoints.parquet: one captured checkpoint of a cell. Every step
// that the cell's other tables hold has exactly one row. For a zoom checkpoint, WindowFrom and
// WindowTo are the checkpoints the replay started from and was verified at (the replayed weights,
// optimizer state and data stream equalled the checkpoint at WindowTo bit for bit); NA for a log
// checkpoint.
type CheckpointRow struct {
	Coords
	Step       int64  `parquet:"step"`
	Schedule   string `parquet:"schedule,dict"` // ScheduleLog or ScheduleZoom
	WindowFrom int64  `parquet:"window_from"`   // the replay's start checkpoint, NA for a log checkpoint
	WindowTo   int64  `parquet:"window_to"`     // the checkpoint the replay matched bit for bit, NA for a log checkpoint
}

// TableName returns "checkpoints".
func (CheckpointRow) TableName() string { return "checkpoints" }
