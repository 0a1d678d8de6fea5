# modelfn on AWS: three Lambda functions from one zip (predict behind a
# function URL, batch on S3 object-created under input/, monitor on an
# EventBridge Scheduler schedule), their buckets, one role each, and
# CloudWatch alarms on the metrics the monitor publishes.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.region
  partition = data.aws_partition.current.partition

  functions = toset(["predict", "batch", "monitor"])

  # The namespace and dimensions providers/aws publishes under.
  metrics_namespace = "ModelFn"
  metric_dimensions = {
    model   = var.model_name
    version = var.model_version
  }

  # MODELFN_* wiring read by functions.ConfigFromEnv.
  environment = {
    MODELFN_LOG_URL     = "s3://${aws_s3_bucket.this["logs"].id}?region=${local.region}"
    MODELFN_BATCH_URL   = "s3://${aws_s3_bucket.this["batch"].id}?region=${local.region}"
    MODELFN_METRICS_URL = "cloudwatch://${local.metrics_namespace}?region=${local.region}"
  }

  # Minutes to an EventBridge Scheduler rate expression ("1 minute", "5 minutes").
  monitor_schedule = var.monitor_interval_minutes == 1 ? "rate(1 minute)" : "rate(${var.monitor_interval_minutes} minutes)"

  # CloudWatch periods above one minute must be multiples of 60 seconds.
  monitor_period = var.monitor_interval_minutes * 60
}

# One customer-managed key encrypts the buckets, the alarm topic, the
# failure queue and the log groups, so access to the data is also
# governed by a key policy and audited in CloudTrail.
resource "aws_kms_key" "this" {
  description             = "modelfn ${var.name}: buckets, alarm topic, failure queue and logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

data "aws_iam_policy_document" "key" {
  # The account keeps control of the key (AWS's default key policy);
  # the functions' own roles are granted use of it in iam.tf.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
  }

  # CloudWatch alarms publish to the encrypted topic.
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }

  # CloudWatch Logs encrypts this deployment's log groups.
  statement {
    sid = "CloudWatchLogsEncrypt"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:DescribeKey",
    ]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/lambda/${var.name}-*"]
    }
  }
}
