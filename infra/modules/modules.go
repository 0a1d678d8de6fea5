// Package modules embeds modelfn's Terraform modules, one folder per cloud
// (aws, gcp, azure), kept as readable .tf files beside this file.
package modules

import "embed"

// FS holds aws/*.tf, gcp/*.tf and azure/*.tf.
//
//go:embed aws/*.tf gcp/*.tf azure/*.tf
var FS embed.FS
