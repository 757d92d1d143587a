// Browser entry: the model's facts, no file-system path (serve model/<demoModelInfo.file> and load
// it with `blobSource` from @x/model).
export { type DemoModelInfo, demoModelInfo } from './info.js';
