// Package vision runs the ONNX models of vitrine on the CPU: an object
// detector, an image embedder (with classifier logits), a person/outfit
// appearance embedder and, when installed, a CLIP-style text encoder.
//
// # Runtime
//
// ONNX Runtime is loaded once per process by InitRuntime (explicit path >
// $VITRINE_ORT_LIB > .deps/onnxruntime/libonnxruntime.so.1 relative to the
// working directory, module root or executable > system library paths). A
// missing library yields ErrRuntimeMissing with an install hint. Each model
// has one session with a configurable number of intra-op threads and of
// concurrent runs (Options.Runs, default 1: runs are serialised); every type
// here is safe for concurrent use.
//
// # Models and the manifest
//
// A Manifest (JSON; embedded default for the shipped models, replaced by
// vitrine-models.json in the models directory) describes each model: file,
// sha256, role, detector format (yolox or yolov8), input name/size/layout,
// channel order, scale, mean/std, resize mode, output names, embedding size,
// class names and tokenizer. Swapping in another detector or embedder is a
// manifest edit. The usual entry point is
//
//	ms, err := vision.Open(ctx, vision.Options{ModelsDir: dir, Threads: 2})
//	defer ms.Close()
//	dets, err := ms.Detector.Detect(ctx, img)              // []Detection, original pixels
//	vecs, err := ms.Embedder.EmbedImages(ctx, crops)       // L2-normalised
//	as, err := ms.Embedder.Analyze(ctx, crops, 5)          // + ImageNet probabilities / top-5
//	app, err := ms.Appearance.EmbedImages(ctx, personCrops) // 512-d re-ID vectors
//	items, err := ms.Garments.Items(ctx, img, dets)         // shoppable boxes + garment regions
//	txt, err := ms.Text.EmbedTexts(ctx, []string{"a red dress"}) // only with a text encoder
//
// # Garments
//
// With no fashion detector, person boxes are split into upper body, lower
// body, footwear and whole-outfit regions (PersonRegions). Each region is
// labelled by zero-shot text prompts when a text encoder exists, otherwise
// by the image embedder's ImageNet apparel classes (labels/imagenet_apparel.tsv);
// regions without a garment are dropped. Detector classes listed as
// shoppable in the manifest (handbag, backpack, tie, ...) become items as
// they are. GarmentLabeler.QueryScore matches free-text queries against the
// class names, which is the text search available without a text encoder.
//
// Image decoding for untrusted bytes lives in the imageio subpackage, the
// CLIP tokenizer in cliptok.
package vision
