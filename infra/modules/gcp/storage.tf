# Three private buckets: function source, prediction log (predictions/,
# labels/, monitor/) and batch (input/, output/, errors/). Uniform
# bucket-level access, public access prevention enforced, versioned.
# Cloud Storage serves its APIs over TLS only.

resource "google_storage_bucket" "this" {
  for_each = toset(["source", "logs", "batch"])
  project  = var.project
  name     = "${var.name}-${each.key}-${local.suffix}"
  location = var.region
  labels   = local.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = true
  }

  # Logged predictions expire after the retention; other objects are kept.
  dynamic "lifecycle_rule" {
    for_each = each.key == "logs" ? [1] : []
    content {
      condition {
        age            = var.prediction_retention_days
        matches_prefix = ["predictions/"]
      }
      action {
        type = "Delete"
      }
    }
  }

  # Overwritten and deleted versions stay restorable for 30 days.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.this]
}

# The source zip built by `modelfn build --cloud gcp`. Its name carries
# the content hash, so a new build redeploys the functions.
resource "google_storage_bucket_object" "source" {
  bucket = google_storage_bucket.this["source"].name
  name   = "functions/${var.name}-${substr(filesha256(var.artifact_path), 0, 16)}.zip"
  source = var.artifact_path
}

# Cloud Build pushes the functions' images here.
resource "google_artifact_registry_repository" "functions" {
  project       = var.project
  location      = var.region
  repository_id = "${var.name}-functions"
  format        = "DOCKER"
  description   = "modelfn ${var.name}: function images"
  labels        = local.labels

  depends_on = [google_project_service.this]
}
