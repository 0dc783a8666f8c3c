package project

// Rank1 lets the external tests score rankings as the internal ones do.
var Rank1 = rank1
