package confidence

import "math"

// Names of the features vitrine computes for a candidate item (see
// internal/video). A model may use any subset; features it does not name
// are ignored, and names it has that a candidate lacks count as neutral.
const (
	// Of the best product, from the track's crops (internal/match).
	Score            = "score"              // fused score
	Margin           = "margin"             // fused score minus the second product's
	Z                = "z"                  // embedding similarity, standard deviations above the neighbours' mean
	ZMargin          = "z_margin"           // Z minus the second product's
	Cosine           = "cosine"             // raw embedding cosine similarity
	AppearanceZ      = "appearance_z"       // re-ID similarity relative to the neighbours
	AppearanceCosine = "appearance_cosine"  // raw re-ID cosine similarity
	ProjectedZ       = "projected_z"        // Z in the catalog's learned projection (0 without one)
	ProjectedZMargin = "projected_z_margin" // ProjectedZ minus the second product's
	ProjectedCosine  = "projected_cosine"   // cosine similarity in the learned projection
	Colour           = "colour"             // colour histogram intersection with the product image
	Votes            = "votes"              // share of crops that rank the product first
	Crops            = "crops"              // log(1 + crops matched)
	Category         = "category"           // detected label / product category compatibility, 0..1
	// Of the track's best crop against the product image's main item
	// (local features, internal/verify).
	Inliers      = "inliers"       // log(1 + keypoint pairs one transform explains)
	InlierMargin = "inlier_margin" // log(1 + inliers) minus that of the best next product
	InlierRatio  = "inlier_ratio"  // inliers over mutual nearest neighbours
	Promoted     = "promoted"      // 1 when verification moved a lower-ranked product first
	// Derived from Inliers and InlierMargin (see Features.Value): the same
	// counts less the inliers any unrelated product image reaches by
	// chance.
	VerifiedInliers = "verified_inliers" // log(1 + inliers beyond noiseInliers)
	VerifiedMargin  = "verified_margin"  // VerifiedInliers minus that of the best next product
	// Of the track.
	Support    = "support"    // share of detections whose own crop supports the product
	Duration   = "duration"   // log(1 + seconds on screen)
	Detections = "detections" // log(1 + detections)
	DetScore   = "det_score"  // mean detector score
	Area       = "area"       // square root of the median box area, as a fraction of the frame
	// Share of the track's detections by kind of box.
	FromWindow  = "from_window"  // class-agnostic window proposals
	FromPerson  = "from_person"  // whole persons
	FromGarment = "from_garment" // garment regions of a person
	FromObject  = "from_object"  // detector boxes of product classes
	FromOther   = "from_other"   // detector boxes of other classes (proposals)
	// Of the item (after duplicates are merged).
	Tracks    = "tracks"     // log(1 + tracks merged into it)
	ShotShare = "shot_share" // share of its shot it is on screen
	Stitched  = "stitched"   // 1 when the track took its match from a track it continues
	// Against the other items on screen at the same time in its shot.
	ShotMargin  = "shot_margin"  // score minus the best other product's, capped at 0.3
	PlaceMargin = "place_margin" // the same among items overlapping it in place
	Rivals      = "rivals"       // log(1 + other products on screen with it)
)

// DefaultInputs are the features and signs `vitrine bench calibrate` fits.
// Stitched may only lower a confidence: a stitched track's own crops
// missed the match gate and it borrows its match, and as a rare 0/1
// feature (5 of 462 calibration items) a free weight fitted on a handful
// of them moved a stitched item's score by two logits.
var DefaultInputs = []Input{
	{Score, +1}, {Margin, +1}, {Z, +1}, {ZMargin, +1}, {Cosine, +1},
	{AppearanceZ, +1}, {AppearanceCosine, +1}, {ProjectedZ, +1}, {ProjectedZMargin, +1}, {ProjectedCosine, +1}, {Colour, +1}, {Votes, +1}, {Crops, 0}, {Category, +1},
	{Support, +1}, {Duration, 0}, {Detections, 0}, {DetScore, 0}, {Area, 0},
	{FromWindow, 0}, {FromPerson, 0}, {FromGarment, 0}, {FromObject, 0}, {FromOther, 0},
	{Tracks, 0}, {ShotShare, 0}, {Stitched, -1},
	{ShotMargin, +1}, {PlaceMargin, +1}, {Rivals, 0},
	{VerifiedInliers, +1}, {VerifiedMargin, +1}, {InlierRatio, +1}, {Promoted, 0},
}

// noiseInliers is how many inliers a crop shares with an unrelated
// product's image by chance: a few mutual nearest neighbours always fit
// some homography. Counts up to it say nothing, and fitted on the raw
// counts the calibration read a right product with 0 inliers beside a
// look-alike with 4 as a strong "no" (a small clutch, whose crop gives
// XFeat few keypoints, at 0.01). Held-out on the shipped samples, with
// the publish threshold refitted each time, a floor of 3 to 12 published
// more right candidates than the raw counts at the same or better
// precision: 5 did best on all three generated sets (packshot recall
// 0.722 -> 0.804, re-shot 0.824 -> 0.873, lookbook 0.987 -> 0.997).
const noiseInliers = 5

// derived computes the features made from others, so that samples keep
// the raw evidence and a model may use either.
var derived = map[string]func(Features) (float64, bool){
	VerifiedInliers: func(f Features) (float64, bool) {
		n, ok := f[Inliers]
		if !ok {
			return 0, false
		}
		return beyondNoise(n), true
	},
	VerifiedMargin: func(f Features) (float64, bool) {
		n, ok := f[Inliers]
		m, ok2 := f[InlierMargin]
		if !ok || !ok2 {
			return 0, false
		}
		return beyondNoise(n) - beyondNoise(n-m), true
	},
}

// beyondNoise maps log(1 + inliers) to log(1 + inliers beyond the noise).
func beyondNoise(logCount float64) float64 {
	return math.Log1p(max(0, math.Round(math.Expm1(logCount))-noiseInliers))
}

// Value returns the feature called name, computing derived ones.
func (f Features) Value(name string) (float64, bool) {
	if d, ok := derived[name]; ok {
		return d(f)
	}
	v, ok := f[name]
	return v, ok
}
