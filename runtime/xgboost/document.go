package xgboost

import (
	"encoding/json"
	"fmt"
)

// document is the part of save_model's JSON the runtime reads.
type document struct {
	Learner struct {
		FeatureNames []string `json:"feature_names"`
		Param        struct {
			BaseScore  string `json:"base_score"`
			NumClass   string `json:"num_class"`
			NumFeature string `json:"num_feature"`
		} `json:"learner_model_param"`
		Objective struct {
			Name string `json:"name"`
		} `json:"objective"`
		Booster booster `json:"gradient_booster"`
	} `json:"learner"`
}

type booster struct {
	Name       string    `json:"name"`
	Model      treeModel `json:"model"` // gbtree
	WeightDrop []float32 `json:"weight_drop"`
	GBTree     *struct {
		Model treeModel `json:"model"`
	} `json:"gbtree"` // dart wraps a gbtree
}

type treeModel struct {
	Trees    []tree  `json:"trees"`
	TreeInfo []int32 `json:"tree_info"`
}

type tree struct {
	Left            []int32   `json:"left_children"`
	Right           []int32   `json:"right_children"`
	SplitIndices    []int32   `json:"split_indices"`
	SplitConditions []float32 `json:"split_conditions"`
	DefaultLeft     flags     `json:"default_left"`
	SplitType       []int32   `json:"split_type"`
}

// flags reads default_left, written as 0/1 integers by some xgboost
// versions and as booleans by others.
type flags []uint8

func (f *flags) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(flags, len(raw))
	for i, r := range raw {
		switch string(r) {
		case "0", "false":
		case "1", "true":
			out[i] = 1
		default:
			return fmt.Errorf("default_left[%d]: %s is not 0, 1 or a boolean", i, r)
		}
	}
	*f = out
	return nil
}
