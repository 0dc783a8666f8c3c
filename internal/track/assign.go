package track

import "math"

// maxAssign assigns rows to columns maximising the summed affinity, using
// only pairs with affinity >= min. It returns for each row the chosen
// column or -1. The Hungarian algorithm (potentials, O(n^3)) runs on a
// square cost matrix padded with "leave unassigned" cells.
func maxAssign(aff [][]float64, min float64) []int {
	rows := len(aff)
	res := make([]int, rows)
	for i := range res {
		res[i] = -1
	}
	if rows == 0 {
		return res
	}
	cols := len(aff[0])
	if cols == 0 {
		return res
	}
	// Cost 1-aff for feasible pairs; a forbidden pair costs more than
	// leaving both sides unassigned (cost 1 each side).
	n := rows + cols
	const forbidden = 1e6
	cost := func(i, j int) float64 {
		switch {
		case i < rows && j < cols:
			if a := aff[i][j]; a >= min {
				return 1 - a
			}
			return forbidden
		case i < rows || j < cols:
			return 1 // row i or column j stays unmatched
		default:
			return 0
		}
	}
	// e-maxx formulation, 1-based.
	u := make([]float64, n+1)
	v := make([]float64, n+1)
	p := make([]int, n+1)
	way := make([]int, n+1)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		minv := make([]float64, n+1)
		used := make([]bool, n+1)
		for j := range minv {
			minv[j] = math.Inf(1)
		}
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], math.Inf(1), 0
			for j := 1; j <= n; j++ {
				if used[j] {
					continue
				}
				cur := cost(i0-1, j-1) - u[i0] - v[j]
				if cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= n; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
			if j0 == 0 {
				break
			}
		}
	}
	for j := 1; j <= n; j++ {
		i := p[j] - 1
		if i >= 0 && i < rows && j-1 < cols && aff[i][j-1] >= min {
			res[i] = j - 1
		}
	}
	return res
}
