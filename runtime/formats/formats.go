// Package formats registers every model format modelfn ships. The function
// composition (package functions) imports it, so every binary, local or in
// a cloud, runs every format.
package formats

import (
	_ "github.com/modelfn/modelfn/runtime/onnx"    // onnx
	_ "github.com/modelfn/modelfn/runtime/xgboost" // xgboost-json
)
