// Package analysis is phaseprobe's analysis stage. It reads a run folder through package data,
// computes internal metrics per cell, checkpoint and site (geometry: ranks, spectra, CKA; probes:
// linear probes with control tasks, attention-head scores), writes them beside the task metrics in
// the same long format, then finds the transition in every curve and tests whether internal
// transitions line up with task-level jumps (package transition).
package analysis
