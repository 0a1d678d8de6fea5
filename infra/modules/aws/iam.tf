# One role per function, each allowed only its own log group, its own
# buckets and prefixes, the key, and (monitor only) PutMetricData in the
# ModelFn namespace. No action is a wildcard.

locals {
  logs_arn  = aws_s3_bucket.this["logs"].arn
  batch_arn = aws_s3_bucket.this["batch"].arn

  function_policies = {
    predict = data.aws_iam_policy_document.predict.json
    batch   = data.aws_iam_policy_document.batch.json
    monitor = data.aws_iam_policy_document.monitor.json
  }
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each           = local.functions
  name               = "${var.name}-${each.key}"
  description        = "modelfn ${var.name}: the ${each.key} function"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions
  name     = "${var.name}-${each.key}"
  role     = aws_iam_role.function[each.key].id
  policy   = local.function_policies[each.key]
}

data "aws_iam_policy_document" "predict" {
  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function["predict"].arn}:*"]
  }
  statement {
    sid       = "LogPredictions"
    actions   = ["s3:PutObject"]
    resources = ["${local.logs_arn}/predictions/*"]
  }
  statement {
    sid       = "UseKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }
}

data "aws_iam_policy_document" "batch" {
  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function["batch"].arn}:*"]
  }
  statement {
    sid       = "ReadInput"
    actions   = ["s3:GetObject"]
    resources = ["${local.batch_arn}/input/*"]
  }
  statement {
    # Large outputs are multipart uploads; a failed run aborts its upload,
    # so the output appears whole or not at all.
    sid       = "WriteOutputAndErrors"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.batch_arn}/output/*", "${local.batch_arn}/errors/*"]
  }
  statement {
    # A re-run without row errors removes the errors object of an earlier run.
    sid       = "RemoveStaleErrors"
    actions   = ["s3:DeleteObject"]
    resources = ["${local.batch_arn}/errors/*"]
  }
  statement {
    sid       = "LogPredictions"
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.logs_arn}/predictions/*"]
  }
  statement {
    # Lambda sends failed asynchronous invocations here with this role.
    sid       = "OnFailureDestination"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failures.arn]
  }
  statement {
    sid       = "UseKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }
}

data "aws_iam_policy_document" "monitor" {
  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function["monitor"].arn}:*"]
  }
  statement {
    # Listing the logs bucket finds new prediction and label objects; it
    # also lets S3 answer 404 rather than 403 for the first run's missing
    # checkpoint.
    sid       = "ListLogs"
    actions   = ["s3:ListBucket"]
    resources = [local.logs_arn]
  }
  statement {
    sid     = "ReadLogsLabelsState"
    actions = ["s3:GetObject"]
    resources = [
      "${local.logs_arn}/predictions/*",
      "${local.logs_arn}/labels/*",
      "${local.logs_arn}/monitor/*",
    ]
  }
  statement {
    sid       = "WriteState"
    actions   = ["s3:PutObject"]
    resources = ["${local.logs_arn}/monitor/*"]
  }
  statement {
    # PutMetricData has no resource-level permissions; the condition
    # keeps the role to modelfn's namespace.
    sid       = "PublishMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [local.metrics_namespace]
    }
  }
  statement {
    sid       = "UseKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }
}

# EventBridge Scheduler's role: invoke the monitor, dead-letter to the queue.
data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name}-scheduler"
  description        = "modelfn ${var.name}: EventBridge Scheduler runs the monitor"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "${var.name}-scheduler"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeMonitor"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.this["monitor"].arn]
  }
  statement {
    sid       = "DeadLetter"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failures.arn]
  }
  statement {
    sid       = "UseKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }
}

# Attach this to the users and roles that may call the prediction
# endpoint (unless it is public): a function URL with AWS_IAM auth needs
# both actions on the caller's side.
resource "aws_iam_policy" "invoke_predict" {
  name        = "${var.name}-invoke-predict"
  description = "modelfn ${var.name}: call the prediction endpoint"
  policy      = data.aws_iam_policy_document.invoke_predict.json
  tags        = var.tags
}

data "aws_iam_policy_document" "invoke_predict" {
  statement {
    sid       = "InvokePredictURL"
    actions   = ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"]
    resources = [aws_lambda_function.this["predict"].arn]
  }
}
