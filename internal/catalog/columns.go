package catalog

// Field names a column can feed, as ColumnField reports them and as a
// column mapping names them. A column named exactly like one of these is
// read as that field.
const (
	FieldID       = "id"
	FieldTitle    = "title"
	FieldURL      = "url"
	FieldPrice    = "price"
	FieldCurrency = "currency"
	FieldImage    = "image"
	FieldCategory = "category"
	FieldBrand    = "brand"
	FieldColour   = "colour"
)

// MappableFields are the fields a merchant maps columns to, in the order a
// mapping form shows them.
var MappableFields = []string{FieldID, FieldTitle, FieldURL, FieldPrice, FieldCurrency, FieldImage, FieldCategory, FieldBrand, FieldColour}

// ColumnField is the field a CSV column or JSONL key of this name feeds
// when nothing maps it ("" for none of MappableFields: an attribute, a
// rating, availability, …).
func ColumnField(name string) string {
	switch classify(name).f {
	case fID:
		return FieldID
	case fTitle:
		return FieldTitle
	case fURL:
		return FieldURL
	case fPrice:
		return FieldPrice
	case fCurrency:
		return FieldCurrency
	case fImages:
		return FieldImage
	case fCategory:
		return FieldCategory
	case fBrand:
		return FieldBrand
	case fColour:
		return FieldColour
	}
	return ""
}
