package confidence

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
	{Inliers, +1}, {InlierMargin, +1}, {InlierRatio, +1}, {Promoted, 0},
}
